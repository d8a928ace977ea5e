"""The sandbox provider: no account, no network. Its payment link opens this server's own
"pay" page (``/pay/{provider_id}/{payment_id}``), where a button pays; the page then
notifies the server the way a real provider would, so a newcomer sees the whole flow
(link → pay page → paid) with ``inbox demo``.

Payments live in this process's memory and in the order itself: a sandbox payment id is
``sbx_<idempotence key digest>``, so the same key always names the same payment, and the
pay page's notification carries an HMAC (keyed by the provider's generated ``secret``)
that proves it came from the page this server rendered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from inbox.domain.channel_io import WebhookRejected
from inbox.domain.errors import InvalidInput
from inbox.domain.untrusted import parse_json, same_secret
from payments.ports import Notice, NotificationRequest, PaymentRequest, ProviderPayment
from payments.records import PaymentStatus, ProviderRecord

__all__ = ["SandboxGateway", "sandbox_signature"]


def sandbox_signature(secret: str, payment_id: str, status: str) -> str:
    message = f"{payment_id}:{status}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SandboxGateway:
    kind = "sandbox"
    options = frozenset({"public_url"})
    secrets = frozenset({"secret"})

    def __init__(self) -> None:
        self._status: dict[str, PaymentStatus] = {}

    def check_options(self, options: Mapping[str, str]) -> Mapping[str, str]:
        unknown = sorted(set(options) - self.options - {"secret"})
        if unknown:
            raise InvalidInput(f"unknown option(s) for sandbox: {', '.join(unknown)}")
        return {"secret": options.get("secret") or secrets.token_urlsafe(24), **options}

    @staticmethod
    def payment_id(idempotence_key: str) -> str:
        return "sbx_" + hashlib.sha256(idempotence_key.encode()).hexdigest()[:24]

    async def create_payment(
        self, provider: ProviderRecord, request: PaymentRequest
    ) -> ProviderPayment:
        payment_id = self.payment_id(request.idempotence_key)
        status = self._status.setdefault(payment_id, PaymentStatus.PENDING)
        base = provider.options.get("public_url", "").rstrip("/")
        return ProviderPayment(payment_id, status, f"{base}/pay/{provider.id}/{payment_id}")

    async def fetch_payment(self, provider: ProviderRecord, payment_id: str) -> ProviderPayment:
        return ProviderPayment(payment_id, self._status.get(payment_id, PaymentStatus.PENDING))

    def mark(self, payment_id: str, status: PaymentStatus) -> None:
        """The pay page's button (and tests): the payment's new status."""
        self._status[payment_id] = status

    def verify_notification(self, provider: ProviderRecord, request: NotificationRequest) -> Notice:
        try:
            body = parse_json(request.body)
            payment_id, status = str(body["payment_id"]), PaymentStatus(body["status"])
            signature = str(body["signature"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(400, "bad_request", "not a sandbox notification") from exc
        expected = sandbox_signature(provider.options.get("secret", ""), payment_id, status)
        if not same_secret(signature, expected):
            raise WebhookRejected(403, "forbidden", "the sandbox signature is wrong")
        return Notice(payment_id=payment_id, key=f"{payment_id}:{status}", status=status)

    async def close(self) -> None:
        return None
