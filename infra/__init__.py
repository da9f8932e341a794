"""Shared cross-cutting pieces.

Run metadata (:mod:`infra.run_metadata`), the OpenAI-compatible chat client (:mod:`infra.chat_client`),
the CLI error convention (:mod:`infra.cli_errors`), redaction (:mod:`infra.redaction`) and atomic
writes (:mod:`infra.atomic_files`). Test kits (tiny model, loopback judge, verl reward harness) live in
:mod:`testkit`.
Submodules are imported explicitly so that importing one never pulls in another's dependencies.
"""
