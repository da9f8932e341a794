"""Judge backends behind one interface (:class:`eval.backends.base.Backend`): transformers, vLLM offline,
any OpenAI-compatible server, and an in-process scripted judge."""
