"""Payment providers: one :class:`payments.ports.PaymentGateway` per kind."""
