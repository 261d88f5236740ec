"""The HTTP service over the last published master: ``custmaster serve``.

No Dagster here: the service reads what the pipeline published (``warehouse.serving``) and
answers with the domain code (``matching.duplicate_check``). ``snapshot`` loads one
published index, ``reload`` swaps to a newer one whole, ``api`` is the FastAPI app,
``customers`` the customer page and search, ``docs`` the offline API page, ``server`` runs
it under uvicorn.
"""
