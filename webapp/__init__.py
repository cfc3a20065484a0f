"""The web demo's logic, kept out of ``app.py`` so it can be tested without a browser.

``settings``: what the operator configures (environment variables); ``workspace``: one
directory per request and the clean-up of old ones; ``service``: the typed generate call
around the pipeline and renderer; ``ui``: the Gradio Blocks built around a service.
The Live page: ``live_page`` (its Gradio page; scripts in ``static/live_*.js``),
``live_routes`` (its HTTP transport), ``live_stage`` (the sessions of ``semges.live``) and
``live_frames`` (the motion frames on the wire).
"""
