"""``trainlab ui``: watch runs train, compare them, look at sweeps, and play.

A local web application (Starlette, served by uvicorn) over a runs directory:

    pip install -e ".[ui]"
    trainlab ui --runs runs            # http://127.0.0.1:8765

``trainlab.ui.app.create_app(runs_dir)`` builds the application. This package needs the
``ui`` extra; ``import trainlab`` never imports it.
"""
