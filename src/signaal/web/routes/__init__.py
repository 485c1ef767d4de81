"""The routes of the web app, one module per area; every route declares one guard."""
