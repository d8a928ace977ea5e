"""The inbox core: vocabulary (``inbox.domain``), use cases (``inbox.usecases``), ports
(``inbox.ports``) and the in-process workers built only on them (``inbox.bus``,
``inbox.delivery``, ``inbox.pollers``). The composition root lives in ``server``."""
