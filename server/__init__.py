"""The composition root (ARCHITECTURE.md, the top floor). The only package that knows every
concrete class; nothing imports it.

- ``server.wiring``: the one wiring of the core (store, bus, core, hasher, media, adapters,
  routing service) from the settings, used by the app and by every command;
- ``server.app``: the application factory ``create_app`` and its lifecycle (``SERVICES``);
- ``server.routes``: the routes table, every URL and its handler; the handlers it adds
  beside the operator API are in ``server.webhooks`` and ``server.pages``;
- ``server.cli``: the ``inbox`` command; ``server.config``: the settings.
"""
