"""The pure inbound converter over the corpus (tests/channels/email/corpus, which holds
the shared fixtures too): charsets, quotes of the common clients, HTML, attachments,
loop protection, threading fields, ids."""

# Russian mail is the point of these tests (RUF001):
# ruff: noqa: RUF001

from __future__ import annotations

from pathlib import Path

import pytest

from channels.email.converter import parse_mail, to_inbound
from channels.email.ids import normalise_subject, our_message_ids, reply_message_id
from channels.email.text import decode_bytes, html_to_text, strip_quote
from inbox.domain.content import File, Image, MediaRef, Text, Unsupported
from inbox.domain.ids import ChannelId
from tests.channels.email.support import CORPUS, corpus

SHOP = "support@example.test"
SHARED = Path("/work/shared/fixtures/email")

#: file → the new text of the mail (quote stripped), for every customer mail.
NEW_TEXT = {
    "gmail_en_quoted_reply.eml": "Yes, please ship it tomorrow.",
    "gmail_ru_quoted_reply.eml": "Да, всё верно, жду ссылку.",
    "outlook_en_reply.eml": "Thanks, the address is correct.",
    "outlook_en_original_message.eml": "Second thought: leave it at the door.",
    "outlook_ru_koi8r_reply.eml": "Добрый день! Оплачу сегодня.",
    "apple_en_reply.eml": "Perfect, thank you!\n\nSent from my iPhone",
    "apple_ru_reply.eml": "Спасибо, получила!",
    "thunderbird_en_reply.eml": "Could you send an invoice?",
    "thunderbird_ru_reply.eml": "Пришлите, пожалуйста, счёт.",
    "yandex_reply.eml": "Хорошо, жду курьера.",
    "mailru_reply.eml": "Да, удобно после обеда.",
    "cp1251_multipart_attachment.eml": (
        "Добрый день!\nПрошу выставить счёт на организацию.\nРеквизиты во вложении."
    ),
    "cp1251_plain.eml": "Добрый вечер! Нужен счёт.",
    "mislabelled_charset.eml": "Здравствуйте, есть ли товар в наличии?",
    "unknown_charset_koi8r.eml": "Привет, когда будет доставка?",
    "thebat_raw_8bit_headers.eml": "Добрый день! Сколько стоит доставка в Тверь?",
    "outlook_express_wrong_labels.eml": "Здравствуйте! Оплатила заказ номер 77 вчера вечером.",
    "form_gateway_unknown_charset.eml": "Перезвоните мне, пожалуйста, после обеда.",
    "html_only.eml": "Hello & welcome,\nI need two lenses <42>.\n\nThanks",
    "rfc2231_filename.eml": "See the contract attached.",
    "inline_image.eml": "The lens is broken, see:",
    "reply_to.eml": "Please call me back.",
    "no_message_id.eml": "A mail without a Message-ID.",
    "malformed_mime.eml": "The text survives.",
}
SKIPPED = {
    "autoreply.eml": "auto_reply",
    "bounce_dsn.eml": "bounce",
    "list_mail.eml": "list",
    "empty_return_path.eml": "no_return_path",
}


def test_the_corpus_is_fully_covered() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(NEW_TEXT) | set(SKIPPED)
    shared = {p.name.removeprefix("email_inbound_") for p in SHARED.glob("email_inbound_*.eml")}
    assert shared <= set(NEW_TEXT) | set(SKIPPED)


@pytest.mark.parametrize("name", sorted(NEW_TEXT))
def test_customer_mail_new_text(name: str) -> None:
    mail = parse_mail(corpus(name), own_address=SHOP)
    assert mail.kind == "customer"
    assert mail.text == NEW_TEXT[name]
    assert mail.external_id.startswith("<")
    assert mail.external_id.endswith(">")
    assert mail.external_id == parse_mail(corpus(name), own_address=SHOP).external_id


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_loop_protection(name: str) -> None:
    assert parse_mail(corpus(name), own_address=SHOP).kind == SKIPPED[name]


def test_our_own_mail_is_recognised() -> None:
    mail = parse_mail((SHARED / "email_outbound_reply_threaded.eml").read_bytes(), own_address=SHOP)
    assert mail.kind == "ours"


def test_headers_rfc2047_and_threading_fields() -> None:
    mail = parse_mail(corpus("gmail_ru_quoted_reply.eml"), own_address=SHOP)
    assert mail.sender.display_name == "Анна"
    assert mail.sender.external_user_id == mail.sender.email == "anna@gmail.example"
    assert mail.external_id == "<CAF=abc123+xyz@mail.gmail.example>"
    assert mail.thread_refs == (
        "<addr-confirm-7@example.test>",
        "<order42.1736751600@example.test>",
    )
    inbound = to_inbound(ChannelId("ch"), mail, secret="s", stored=[], original=None)
    assert inbound.threading == "references"
    assert inbound.thread_subject == "Подтверждение адреса"
    assert inbound.thread_key == "anna@gmail.example"
    assert inbound.reply_to_external_id == "<addr-confirm-7@example.test>"
    koi8 = parse_mail(corpus("outlook_ru_koi8r_reply.eml"), own_address=SHOP)
    assert koi8.sender.display_name == "Иван Петров"
    assert normalise_subject(koi8.subject) == "Заказ N42"


def test_reply_to_is_where_answers_go() -> None:
    mail = parse_mail(corpus("reply_to.eml"), own_address=SHOP)
    assert mail.thread_key == "nina@customer.example"
    assert mail.sender.external_user_id == "noreply@forms.example"


def test_attachments_rfc2231_cp1251_and_inline() -> None:
    (pdf,) = parse_mail(corpus("cp1251_multipart_attachment.eml")).attachments
    assert (pdf.filename, pdf.mime_type) == ("Реквизиты ООО.pdf", "application/pdf")
    (contract,) = parse_mail(corpus("rfc2231_filename.eml")).attachments
    assert contract.filename == "Договор №2.pdf"
    assert contract.data == b"%PDF-1.4 fake"
    (photo,) = parse_mail(corpus("inline_image.eml")).attachments
    assert photo.inline
    assert photo.mime_type == "image/png"
    assert photo.filename == "photo.png"


def test_parts_of_a_stored_mail() -> None:
    mail = parse_mail(corpus("inline_image.eml"))
    photo = MediaRef("image/png", key="k1", filename="photo.png", size=40)
    original = MediaRef("message/rfc822", key="k2", filename="original.eml")
    inbound = to_inbound(ChannelId("ch"), mail, secret="s", stored=[photo], original=original)
    assert inbound.parts == (
        Text("The lens is broken, see:"),
        Image(photo),
        File(original, "Original message"),
    )


def test_malformed_mail_is_kept_with_a_note() -> None:
    mail = parse_mail(corpus("malformed_mime.eml"))
    assert [n.kind for n in mail.notes] == ["malformed_mail"]
    garbage = parse_mail(b"\x00\xff not a mail at all \r\n\r\n\xfe")
    assert garbage.kind == "customer"
    assert garbage.external_id.endswith("@missing-message-id>")


def test_oversize_attachment_of_30_mb_is_dropped_with_a_note() -> None:
    from email.message import EmailMessage

    big = EmailMessage()
    big["From"] = "x@example.org"
    big["Message-ID"] = "<big@example.org>"
    big.set_content("See the video.")
    big.add_attachment(
        b"\x00" * (30 * 1024 * 1024), maintype="video", subtype="mp4", filename="v.mp4"
    )
    mail = parse_mail(bytes(big))
    assert mail.text == "See the video."
    assert mail.attachments == ()
    (note,) = mail.notes
    assert isinstance(note, Unsupported)
    assert "v.mp4" in note.description
    assert "30.0 MiB" in note.description
    assert "25.0 MiB" in note.description


def test_bounce_details() -> None:
    mail = parse_mail(corpus("bounce_dsn.eml"))
    assert mail.bounced_id == "<order42.1736751600@example.test>"
    assert mail.bounce_reason == "550 5.1.1 User unknown"


def test_reply_tokens() -> None:
    ours = reply_message_id("pw", "abc123", "shop.example")
    assert ours.startswith("<abc123.")
    assert ours.endswith("@shop.example>")
    assert our_message_ids("pw", ["<x@y>", ours, ours]) == ["abc123"]
    assert our_message_ids("other-secret", [ours]) == []
    forged = ours.replace("abc123", "abc124")
    assert our_message_ids("pw", [forged]) == []


@pytest.mark.parametrize(
    ("subject", "thread"),
    [
        ("Re: Order 42", "Order 42"),
        ("RE[2]: Fwd: Order 42", "Order 42"),
        ("AW: WG: Bestellung", "Bestellung"),
        ("Ответ: Re: Заказ", "Заказ"),
        ("Re(3):   spaced   out", "spaced out"),
        ("Order 42", "Order 42"),
    ],
)
def test_subject_normalisation(subject: str, thread: str) -> None:
    assert normalise_subject(subject) == thread


@pytest.mark.parametrize(
    ("name", "subject", "sender"),
    [
        # The Bat!: raw 8-bit windows-1251 in Subject and From, no charset on the body.
        ("thebat_raw_8bit_headers.eml", "Вопрос о доставке", "Пётр Сидоров"),
        # Outlook Express: encoded words and body labelled KOI8-R, bytes windows-1251.
        ("outlook_express_wrong_labels.eml", "Заказ оплачен, когда отправите?", "Мария"),
        # A form gateway: encoded words in a charset nobody knows, KOI8-R bytes.
        ("form_gateway_unknown_charset.eml", "Обратный звонок", "Олег"),
    ],
)
def test_headers_in_missing_unknown_or_wrong_charsets_are_readable(
    name: str, subject: str, sender: str
) -> None:
    mail = parse_mail(corpus(name), own_address=SHOP)
    assert mail.subject == subject
    assert mail.sender.display_name == sender
    assert "\ufffd" not in mail.subject + mail.sender.display_name + mail.text


RUSSIAN_SAMPLES = [
    "Здравствуйте! Подскажите, пожалуйста, когда будет доставлен мой заказ? Спасибо.",
    "Где мой заказ номер 42",
    "ЗАКАЗ 15 ОПЛАЧЕН",
    "Re: Ваш заказ",
    "Иванов Пётр",
    "Счёт",
]


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
@pytest.mark.parametrize("label", [None, "same", "koi8-r", "windows-1251", "x-unknown", "us-ascii"])
@pytest.mark.parametrize("text", RUSSIAN_SAMPLES)
def test_russian_in_either_legacy_encoding_decodes_whatever_the_label(
    encoding: str, label: str | None, text: str
) -> None:
    """The two encodings unlabelled Russian mail comes in, with the right label, a wrong
    one (the other), an unknown one, a false ASCII one or none."""
    declared = encoding if label == "same" else label
    assert decode_bytes(text.encode(encoding), declared) == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Доброго дня! Коли буде відправлено моє замовлення? Дякую.", "cp1251"),
        ("Grüße aus München, schöne Tage", "latin-1"),
        ("Заказ", "cp866"),
        ("Καλημέρα", "iso8859_7"),
        ("Ça va très bien", "cp1252"),
    ],
)
def test_a_right_label_wins_for_other_texts(text: str, encoding: str) -> None:
    assert decode_bytes(text.encode(encoding), encoding) == text


def test_decode_bytes_fallbacks() -> None:
    assert decode_bytes("Привет".encode("koi8_r"), "x-unknown") == "Привет"
    assert decode_bytes("Привет".encode("cp1251"), None) == "Привет"
    assert decode_bytes("Привет".encode(), "windows-1251") == "Привет"


def test_html_is_turned_into_safe_text() -> None:
    text = html_to_text("<p>a<script>evil()</script> &lt;b&gt;</p><blockquote>old</blockquote>")
    assert text == "a <b>"
    outlook = '<div>New</div><div id="divRplyFwdMsg">From: Shop</div><div>old</div>'
    assert html_to_text(outlook) == "New"


def test_strip_quote_keeps_a_quote_only_mail() -> None:
    assert strip_quote("> only a quote") == "> only a quote"
