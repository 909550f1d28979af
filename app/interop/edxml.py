"""edXML packages of QCVN 102:2016 (domain.md §2.3–2.7): documents and status packages, written and read.

The writer produces the file form (a) the VPCP SDK and the provincial LGSPs exchange: root `edXML` in the QCVN
namespace, `edXMLEnvelope` (`edXMLHeader` + `edXMLBody` with the manifest) and the base64 attachments in
`AttachmentEncoded` outside the envelope. The reader takes form (a); the SOAP form (b) carries its files as MIME
parts, which a transport must hand over first, so it is refused with a reason for now.

No official XSD or the standard's PDF was available: element names, order and formats follow the tables of
domain.md. Every name or format that source marks unsure is a constant below, with a comment saying so."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta, timezone

from lxml import etree

from app.errors import N_
from app.interop.messages import (
    BUSINESS_TYPES,
    DOCUMENT_TYPES,
    PRIORITIES,
    STATUS_CODES,
    STEERING_TYPES,
    Attachment,
    DocumentRef,
    Header,
    Message,
    PackageError,
    StaffInfo,
    StatusMessage,
    StatusNotDocument,
    join_number_symbol,
    split_number_symbol,
)

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XLINK = "http://www.w3.org/1999/xlink"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
VIETNAM = timezone(timedelta(hours=7))
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024  # per attachment; "50 MB" read as MiB

# Government organ identifiers (QĐ 28 Điều 10.2a): 13 characters in four groups, e.g. 000.00.00.H49. Other
# QĐ 20/2020 forms (H37.DN.001) are accepted only when the caller lists them in `allowed_organ_ids`.
ORGAN_ID = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
_DIGITS = re.compile(r"[0-9]{1,5}")

# UNSURE (§2.3, §2.7): the SDK users write yyyy/MM/dd, the Bkav validator parses dd/MM/yyyy. We write the SDK's
# form and read both (and ISO yyyy-MM-dd). Whether DueDate is a date or a date-time is also unverified: a time
# after the date is accepted on reading and dropped.
DATE_FORMAT = "%Y/%m/%d"
DATE_FORMATS_READ = ("%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d")
# UNSURE: TraceHeader.Timestamp is yyyy/MM/dd HH:mm:ss (LGSP) or dd/MM/yyyy HH:mm:ss (Bkav), Vietnam time, no zone.
TRACE_TIME_FORMAT = "%Y/%m/%d %H:%M:%S"
TRACE_TIME_FORMATS_READ = ("%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S")
# UNSURE: the VPCP SDK and LGSP spell Bussiness with a double s, Bkav writes Business; write the first, read both.
BUSINESS = ("Bussiness", "Business")
BUSINESS_DOC_TYPE = ("BussinessDocType", "BusinessDocType")
# UNSURE: From has OrganInCharge in some sources, OrganizationInCharge in others; write the first name listed here.
IN_CHARGE = ("OrganizationInCharge", "OrganInCharge")
# UNSURE: the manifest is edXMLManifest in form (a) and Manifest in the SOAP form; write the first, read both.
MANIFEST = ("edXMLManifest", "Manifest")
# UNSURE: no element of the standard's tables carries the package's own id (the axis assigns its docId); we put it
# in the id attribute TraceHeaderList has (§2.3), which the SOAP form uses for a similar purpose.
MESSAGE_ID_ATTRIBUTE = "id"
# UNSURE: ResponseFor.Code is "số/ký hiệu" as one text; CodeNumber/CodeNotation children are accepted on reading.

# Optional header elements carried in Header.extra: key → (parent element, element). Nothing else is written.
EXTRA_ELEMENTS: dict[str, tuple[str, str]] = {
    "organ_in_charge": ("From", IN_CHARGE[0]),
    "organ_add": ("From", "OrganAdd"),
    "email": ("From", "Email"),
    "telephone": ("From", "Telephone"),
    "fax": ("From", "Fax"),
    "website": ("From", "Website"),
    "place": ("PromulgationInfo", "Place"),
    "type_detail": ("DocumentType", "TypeDetail"),
    "signer_competence": ("SignerInfo", "Competence"),
    "sphere": ("OtherInfo", "SphereOfPromulgation"),
    "typer_notation": ("OtherInfo", "TyperNotation"),
}
_FROM_CHILDREN = ("OrganId", IN_CHARGE[0], "OrganName", "OrganAdd", "Email", "Telephone", "Fax", "Website")


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


# ---------------------------------------------------------------------------------------------------- writing


def write_package(message: Message) -> bytes:
    """The package of `message` in form (a), UTF-8 with an XML declaration."""
    _check_writable(message)
    header = message.header
    root = etree.Element(_q("edXML"), nsmap={None: NS, "xsi": XSI, "xlink": XLINK})
    envelope = _sub(root, "edXMLEnvelope")
    edxml_header = _sub(envelope, "edXMLHeader")
    message_header = _sub(edxml_header, "MessageHeader")

    extra = {EXTRA_ELEMENTS[key]: value for key, value in header.extra.items() if value}
    origin = _sub(message_header, "From")
    for name in _FROM_CHILDREN:
        value = {"OrganId": header.organ_code, "OrganName": header.organ_name}.get(name) or extra.get(("From", name))
        if value:
            _text(origin, name, value)
    for code, name in message.recipients:
        recipient = _sub(message_header, "To")
        _text(recipient, "OrganId", code)
        _text(recipient, "OrganName", name)
    number, notation = split_number_symbol(header.number_symbol)
    code_el = _sub(message_header, "Code")
    _text(code_el, "CodeNumber", number)
    _text(code_el, "CodeNotation", notation)
    promulgation = _sub(message_header, "PromulgationInfo")
    _optional(promulgation, "Place", extra.get(("PromulgationInfo", "Place")))
    _text(promulgation, "PromulgationDate", header.issued_date.strftime(DATE_FORMAT))
    document_type = _sub(message_header, "DocumentType")
    _text(document_type, "Type", str(message.document_type))
    _optional(document_type, "TypeDetail", extra.get(("DocumentType", "TypeDetail")))
    _text(document_type, "TypeName", header.type_name)
    _text(message_header, "Subject", header.subject)
    _optional(message_header, "Content", header.description)
    signer = _sub(message_header, "SignerInfo")
    _optional(signer, "Competence", extra.get(("SignerInfo", "Competence")))
    _optional(signer, "Position", header.signer_position)
    _optional(signer, "FullName", header.signer_name)
    if header.due_date:
        _text(message_header, "DueDate", header.due_date.strftime(DATE_FORMAT))
    if message.to_places:
        places = _sub(message_header, "ToPlaces")
        for place in message.to_places:
            _text(places, "Place", place)
    other = _sub(message_header, "OtherInfo")
    _text(other, "Priority", str(header.urgency))
    _optional(other, "SphereOfPromulgation", extra.get(("OtherInfo", "SphereOfPromulgation")))
    _optional(other, "TyperNotation", extra.get(("OtherInfo", "TyperNotation")))
    _text(other, "PageAmount", str(header.page_amount))
    for reference in message.response_for:
        _write_ref(_sub(message_header, "ResponseFor"), reference)
    _text(message_header, "SteeringType", str(message.steering_type))
    _text(message_header, "DocumentId", message.document_id)

    trace_list = _sub(edxml_header, "TraceHeaderList", {MESSAGE_ID_ATTRIBUTE: message.message_id, "version": "1.0"})
    trace = _sub(trace_list, "TraceHeader")
    _text(trace, "OrganId", header.organ_code)
    if message.sent_at:
        _text(trace, "Timestamp", _vietnam(message.sent_at).strftime(TRACE_TIME_FORMAT))
    business = _sub(trace_list, BUSINESS[0])
    _text(business, BUSINESS_DOC_TYPE[0], str(message.business_type))
    _optional(business, "BussinessDocReason", message.business_reason)
    _text(business, "DocumentId", message.document_id)

    manifest = _sub(_sub(envelope, "edXMLBody"), MANIFEST[0], {"version": "1.0"})
    encoded = _sub(root, "AttachmentEncoded") if message.attachments else None
    for index, attachment in enumerate(message.attachments):
        content_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message.message_id}/{index}"))
        reference = _sub(manifest, "Reference", {f"{{{XLINK}}}href": f"cid:{content_id}", f"{{{XLINK}}}type": "simple"})
        _text(reference, "Description", attachment.description)
        _text(reference, "AttachmentName", attachment.name)
        _text(reference, "ContentType", attachment.content_type)
        _text(reference, "ContentId", content_id)
        assert encoded is not None
        item = _sub(encoded, "Attachment")
        _text(item, "ContentType", attachment.content_type)
        _text(item, "ContentId", content_id)
        _text(item, "Description", attachment.description)
        _text(item, "ContentTransferEncoded", base64.b64encode(attachment.content).decode("ascii"))
        _text(item, "AttachmentName", attachment.name)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def write_status(status: StatusMessage) -> bytes:
    """The status package (§2.6): `Status` in the envelope's header, an empty body."""
    if status.status_code not in STATUS_CODES:
        raise PackageError(N_("Unknown status code %(code)s."), code=status.status_code)
    root = etree.Element(_q("edXML"), nsmap={None: NS, "xsi": XSI})
    envelope = _sub(root, "edXMLEnvelope")
    status_el = _sub(_sub(envelope, "edXMLHeader"), "Status")
    _write_ref(_sub(status_el, "ResponseFor"), status.response_for)
    origin = _sub(status_el, "From")
    _text(origin, "OrganId", status.sender_code)
    _text(origin, "OrganName", status.sender_name)
    _text(status_el, "StatusCode", status.status_code)
    _text(status_el, "Description", status.description)
    _text(status_el, "Timestamp", _vietnam(status.timestamp).isoformat())
    staff = _sub(status_el, "StaffInfo")
    for name, value in zip(_STAFF_CHILDREN, _staff_values(status.staff), strict=True):
        _text(staff, name, value)
    _sub(envelope, "edXMLBody")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


_STAFF_CHILDREN = ("Department", "Staff", "Mobile", "Email")


def _staff_values(staff: StaffInfo) -> tuple[str, str, str, str]:
    return staff.department, staff.staff, staff.mobile, staff.email


def _check_writable(message: Message) -> None:
    header = message.header
    if not message.recipients:
        raise PackageError(N_("A package needs at least one recipient (To)."))
    unknown = sorted(set(header.extra) - set(EXTRA_ELEMENTS))
    if unknown:
        raise PackageError(N_("No edXML element for the header fields %(fields)s."), fields=", ".join(unknown))
    number, notation = split_number_symbol(header.number_symbol)
    if not number or not notation:
        raise PackageError(
            N_("The number and symbol %(value)s need both parts, as 12/UBND-VP."), value=header.number_symbol
        )
    for value, allowed, element in (
        (header.urgency, PRIORITIES, "OtherInfo/Priority"),
        (message.business_type, BUSINESS_TYPES, "BussinessDocType"),
        (message.document_type, DOCUMENT_TYPES, "DocumentType/Type"),
        (message.steering_type, STEERING_TYPES, "SteeringType"),
        (header.page_amount, range(65536), "OtherInfo/PageAmount"),
    ):
        if value not in allowed:
            raise PackageError(N_("The value %(value)s is not allowed in %(element)s."), value=value, element=element)


def _write_ref(parent: etree._Element, reference: DocumentRef) -> None:
    _optional(parent, "OrganId", reference.organ_code)
    _optional(parent, "Code", reference.number_symbol)
    if reference.issued_date:
        _text(parent, "PromulgationDate", reference.issued_date.strftime(DATE_FORMAT))
    _text(parent, "DocumentId", reference.document_id)


def _sub(parent: etree._Element, name: str, attributes: dict[str, str] | None = None) -> etree._Element:
    return etree.SubElement(parent, _q(name), attributes or {})


def _text(parent: etree._Element, name: str, value: str) -> None:
    _sub(parent, name).text = value


def _optional(parent: etree._Element, name: str, value: str | None) -> None:
    if value:
        _text(parent, name, value)


def _vietnam(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise PackageError(N_("A time in a package needs its time zone."))
    return moment.astimezone(VIETNAM)


# ---------------------------------------------------------------------------------------------------- reading


def read_package(
    data: bytes, *, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES, allowed_organ_ids: Collection[str] = ()
) -> Message:
    """The message of a form (a) package; `PackageError` names what is wrong with any other input."""
    edxml_header, root = _edxml_header(data)
    message_header = _child(edxml_header, "MessageHeader")
    if message_header is None:
        if _child(edxml_header, "Status") is not None:
            raise StatusNotDocument(N_("This is a status package, not a document package."))
        raise PackageError(N_("The required element %(element)s is missing."), element="MessageHeader")

    origin = _required_child(message_header, "From", "MessageHeader")
    extra: dict[str, str] = {}
    for key, (parent_name, name) in EXTRA_ELEMENTS.items():
        parent = origin if parent_name == "From" else _child(message_header, parent_name)
        names = IN_CHARGE if key == "organ_in_charge" else (name,)
        value = _optional_text(parent, *names)
        if value:
            extra[key] = value
    organ_code = _organ_id(_required_text(origin, "OrganId", "From"), "From/OrganId", allowed_organ_ids)

    recipients: list[tuple[str, str]] = []
    for recipient in message_header.findall(_q("To")):
        code = _organ_id(_required_text(recipient, "OrganId", "To"), "To/OrganId", allowed_organ_ids)
        if code in {known for known, _ in recipients}:
            raise PackageError(N_("The recipient %(code)s is listed twice."), code=code)
        recipients.append((code, _optional_text(recipient, "OrganName")))
    if not recipients:
        raise PackageError(N_("The required element %(element)s is missing."), element="MessageHeader/To")

    code_el = _required_child(message_header, "Code", "MessageHeader")
    promulgation = _required_child(message_header, "PromulgationInfo", "MessageHeader")
    document_type = _child(message_header, "DocumentType")
    other = _child(message_header, "OtherInfo")
    due_text = _optional_text(message_header, "DueDate")
    places = _child(message_header, "ToPlaces")
    header = Header(
        organ_code=organ_code,
        organ_name=_optional_text(origin, "OrganName"),
        number_symbol=join_number_symbol(
            _required_text(code_el, "CodeNumber", "Code"), _required_text(code_el, "CodeNotation", "Code")
        ),
        issued_date=_date(_required_text(promulgation, "PromulgationDate", "PromulgationInfo"), "PromulgationDate"),
        type_name=_optional_text(document_type, "TypeName"),
        subject=_required_text(message_header, "Subject", "MessageHeader"),
        urgency=_number(_optional_text(other, "Priority") or "0", "OtherInfo/Priority", PRIORITIES),
        page_amount=_number(_optional_text(other, "PageAmount") or "1", "OtherInfo/PageAmount", range(65536)),
        signer_position=_optional_text(_child(message_header, "SignerInfo"), "Position"),
        signer_name=_optional_text(_child(message_header, "SignerInfo"), "FullName"),
        due_date=_date(due_text, "DueDate") if due_text.strip() else None,
        description=_optional_text(message_header, "Content"),
        extra=extra,
    )

    trace_list = _child(edxml_header, "TraceHeaderList")
    business = _child(trace_list, *BUSINESS)
    sent_at = None
    for trace in trace_list.findall(_q("TraceHeader")) if trace_list is not None else ():
        stamp = _optional_text(trace, "Timestamp")
        if stamp and sent_at is None:
            sent_at = _trace_time(stamp)
    document_id = _optional_text(message_header, "DocumentId") or _optional_text(business, "DocumentId")
    return Message(
        header=header,
        recipients=recipients,
        message_id=trace_list.get(MESSAGE_ID_ATTRIBUTE, "") if trace_list is not None else "",
        attachments=_attachments(root, max_attachment_bytes),
        business_type=_number(_optional_text(business, *BUSINESS_DOC_TYPE) or "0", "BussinessDocType", BUSINESS_TYPES),
        business_reason=_optional_text(business, "BussinessDocReason", "BusinessDocReason"),
        response_for=[_read_ref(element) for element in message_header.findall(_q("ResponseFor"))],
        document_id=document_id,
        document_type=_number(_optional_text(document_type, "Type") or "2", "DocumentType/Type", DOCUMENT_TYPES),
        steering_type=_number(_optional_text(message_header, "SteeringType") or "0", "SteeringType", STEERING_TYPES),
        to_places=[place.text or "" for place in places.findall(_q("Place"))] if places is not None else [],
        sent_at=sent_at,
    )


def read_status(data: bytes, *, allowed_organ_ids: Collection[str] = ()) -> StatusMessage:
    """The status a status package reports (§2.6)."""
    edxml_header, _ = _edxml_header(data)
    status = _child(edxml_header, "Status")
    if status is None:
        if _child(edxml_header, "MessageHeader") is not None:
            raise PackageError(N_("This is a document package, not a status package."))
        raise PackageError(N_("The required element %(element)s is missing."), element="Status")
    origin = _required_child(status, "From", "Status")
    code = _required_text(status, "StatusCode", "Status").strip()
    if code not in STATUS_CODES:
        raise PackageError(N_("Unknown status code %(code)s."), code=code)
    staff = _child(status, "StaffInfo")
    return StatusMessage(
        response_for=_read_ref(_required_child(status, "ResponseFor", "Status")),
        sender_code=_organ_id(_required_text(origin, "OrganId", "From"), "From/OrganId", allowed_organ_ids),
        sender_name=_optional_text(origin, "OrganName"),
        status_code=code,
        timestamp=_trace_time(_required_text(status, "Timestamp", "Status")),
        description=_optional_text(status, "Description"),
        staff=StaffInfo(*(_optional_text(staff, name) for name in _STAFF_CHILDREN)),
    )


def _edxml_header(data: bytes) -> tuple[etree._Element, etree._Element]:
    """Parse `data` and return (edXMLHeader, root), refusing what is not a form (a) package."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError, LookupError) as error:
        raise PackageError(N_("The package is not well-formed XML (truncated?): %(detail)s"), detail=error) from None
    if root is None:
        raise PackageError(N_("The package is not well-formed XML (truncated?): %(detail)s"), detail="empty")
    if root.getroottree().docinfo.doctype:
        raise PackageError(N_("A package may not declare a DOCTYPE."))
    tag = etree.QName(root)
    if tag.namespace == SOAP_ENV:
        raise PackageError(N_("The SOAP form of edXML (attachments as MIME parts) is not supported yet."))
    if tag.localname != "edXML":
        raise PackageError(N_("The root element is %(found)s, not edXML."), found=tag.localname)
    if tag.namespace != NS:
        raise PackageError(
            N_("The package's namespace is %(found)s, not %(expected)s."), found=tag.namespace or "(none)", expected=NS
        )
    envelope = _required_child(root, "edXMLEnvelope", "edXML")
    return _required_child(envelope, "edXMLHeader", "edXMLEnvelope"), root


def _attachments(root: etree._Element, limit: int) -> list[Attachment]:
    encoded = _child(root, "AttachmentEncoded")
    found: list[tuple[str, Attachment]] = []
    for item in encoded.findall(_q("Attachment")) if encoded is not None else ():
        name = _required_text(item, "AttachmentName", "Attachment")
        content_type = _required_text(item, "ContentType", "Attachment").strip()
        text = "".join(_required_text(item, "ContentTransferEncoded", "Attachment").split())
        if len(text) // 4 * 3 - 2 > limit:
            raise PackageError(N_("The attachment %(name)s is larger than %(limit)s bytes."), name=name, limit=limit)
        try:
            content = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise PackageError(N_("The attachment %(name)s is not valid base64."), name=name) from None
        if len(content) > limit:
            raise PackageError(N_("The attachment %(name)s is larger than %(limit)s bytes."), name=name, limit=limit)
        if content_type.lower() == "application/pdf" and not content.startswith(b"%PDF-"):
            raise PackageError(N_("The attachment %(name)s claims to be a PDF but is not one."), name=name)
        description = _optional_text(item, "Description")
        found.append((_optional_text(item, "ContentId").strip(), Attachment(name, content_type, content, description)))
    carried = {content_id for content_id, _ in found}
    for manifest in _children(_child(root, "edXMLEnvelope"), "edXMLBody"):
        for reference in _children(_child(manifest, *MANIFEST), "Reference"):
            content_id = _optional_text(reference, "ContentId").strip()
            if content_id and content_id not in carried:
                raise PackageError(N_("The manifest lists the attachment %(cid)s, which is missing."), cid=content_id)
    return [attachment for _, attachment in found]


def _read_ref(element: etree._Element) -> DocumentRef:
    code = _child(element, "Code")
    if code is not None and len(code):
        number_symbol = join_number_symbol(_optional_text(code, "CodeNumber"), _optional_text(code, "CodeNotation"))
    else:
        number_symbol = code.text or "" if code is not None else ""
    issued = _optional_text(element, "PromulgationDate")
    return DocumentRef(
        organ_code=_optional_text(element, "OrganId"),
        number_symbol=number_symbol,
        issued_date=_date(issued, "ResponseFor/PromulgationDate") if issued.strip() else None,
        document_id=_required_text(element, "DocumentId", "ResponseFor"),
    )


def _child(parent: etree._Element | None, *names: str) -> etree._Element | None:
    if parent is None:
        return None
    for name in names:
        found = parent.find(_q(name))
        if found is not None:
            return found
    return None


def _children(parent: etree._Element | None, name: str) -> Iterable[etree._Element]:
    return parent.findall(_q(name)) if parent is not None else ()


def _required_child(parent: etree._Element, name: str, where: str) -> etree._Element:
    found = _child(parent, name)
    if found is None:
        raise PackageError(N_("The required element %(element)s is missing."), element=f"{where}/{name}")
    return found


def _optional_text(parent: etree._Element | None, *names: str) -> str:
    found = _child(parent, *names)
    return found.text or "" if found is not None else ""


def _required_text(parent: etree._Element, name: str, where: str) -> str:
    value = _optional_text(parent, name)
    if not value.strip():
        raise PackageError(N_("The required element %(element)s is missing."), element=f"{where}/{name}")
    return value


def _organ_id(value: str, element: str, allowed: Collection[str]) -> str:
    value = value.strip()
    if not ORGAN_ID.fullmatch(value) and value not in allowed:
        raise PackageError(
            N_("%(element)s %(value)s is not an organ identifier of the form 000.00.00.H49."),
            element=element,
            value=value,
        )
    return value


def _number(text: str, element: str, allowed: Collection[int]) -> int:
    text = text.strip()
    if not _DIGITS.fullmatch(text) or int(text) not in allowed:
        raise PackageError(N_("The value %(value)s is not allowed in %(element)s."), value=text, element=element)
    return int(text)


def _date(text: str, element: str) -> date:
    day = text.strip().split(" ")[0].split("T")[0]  # a time after the date (DueDate as date-time) is dropped
    for pattern in DATE_FORMATS_READ:
        try:
            return datetime.strptime(day, pattern).date()
        except ValueError:
            continue
    raise PackageError(N_("%(element)s %(value)s is not a date."), element=element, value=text)


def _trace_time(text: str) -> datetime:
    """ISO 8601 (status packages) or the naive trace formats, which are Vietnam time."""
    text = text.strip()
    moment: datetime | None = None
    for pattern in TRACE_TIME_FORMATS_READ:
        try:
            moment = datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise PackageError(N_("%(element)s %(value)s is not a time."), element="Timestamp", value=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)
