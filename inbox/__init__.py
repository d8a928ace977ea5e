"""The inbox core: vocabulary (``inbox.domain``), use cases (``inbox.usecases``), ports
(``inbox.ports``); and, apart from them, the composition root (``inbox.app``, ``inbox.cli``)."""
