"""Shared cross-cutting pieces: run metadata, the chat-completions client, the loopback judge server, the tiny-model test kit."""
