"""Judge backends behind one interface (:class:`eval.backends.base.Backend`): transformers, vLLM offline,
and any OpenAI-compatible server (an in-process scripted judge for tests is testkit.scripted_backend)."""
