"""Built-in judge prompt templates (package data; see data_prep.prompts)."""
