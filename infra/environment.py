"""Imported first by every command: is this Python the project's environment?

The commonest newcomer mistake is running a command with the system Python, which used to end in a
ModuleNotFoundError traceback from deep inside an import. Every entry file starts with::

    try:  # a Python without the project says so in one line (infra/environment.py)
        import infra.environment  # noqa: F401
    except ModuleNotFoundError as err:
        print(f"{sys.argv[0]}: error: this Python ({sys.executable}) lacks {err.name!r}; ...", file=sys.stderr)
        raise SystemExit(2) from None

A script run by path (``python data_prep/build_parquet.py``) cannot import ``infra`` at all there; a
module run from the checkout (``python -m launch.export``) can, so this module checks the project's
own dependencies without importing them (``find_spec`` is cheap).
"""

from importlib.util import find_spec

REQUIRED = ("yaml", "tqdm", "httpx", "pyarrow", "pandas")  # pyproject.toml's dependencies, as imported

_missing = [name for name in REQUIRED if find_spec(name) is None]
if _missing:
    raise ModuleNotFoundError(f"No module named {_missing[0]!r}", name=_missing[0])
