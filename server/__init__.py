"""The composition root (ARCHITECTURE.md, the top floor): the aiohttp application and its
routes table (``server.app``), the command line (``server.cli``) and the settings
(``server.config``). The only package that knows every concrete class; nothing imports it."""
