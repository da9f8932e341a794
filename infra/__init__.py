"""Shared cross-cutting pieces.

Run metadata (:mod:`infra.run_metadata`), the OpenAI-compatible chat client (:mod:`infra.chat_client`),
the scripted loopback judge server (:mod:`infra.loopback_judge`), the tiny-model test kit.
Submodules are imported explicitly so that importing one never pulls in another's dependencies.
"""
