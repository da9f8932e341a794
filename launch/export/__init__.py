"""Export a verl checkpoint to a Hugging Face folder with its model card (``python -m launch.export``).

``cli`` runs the export, ``layout`` finds the step, ``facts`` reads the run's records, ``out`` guards
and swaps the output folder, ``card`` is the model card's one codec (``python -m launch.model_card``).
"""
