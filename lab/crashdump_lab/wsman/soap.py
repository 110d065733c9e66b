"""SOAP envelopes of WS-Management as Windows' WinRM service reads and writes them.

References: [MS-WSMV] "Web Services Management Protocol Extensions for Windows
Vista" (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/),
and DMTF DSP0226 (WS-Management) which it extends.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "wmi": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
# [MS-WSMV] 3.1.4.1.7: a client's MaxEnvelopeSize below 8192 octets is refused.
MIN_ENVELOPE_SIZE = 8192


def q(prefix, name):
    """The qualified (Clark) name ``{uri}name``."""
    return "{%s}%s" % (NS[prefix], name)


class Fault(Exception):
    """A SOAP fault as Windows sends it: HTTP 500 with a wsmanfault detail
    whose Code is the Windows error number ([MS-WSMV] 2.2.4.18 WSManFault)."""

    def __init__(self, code, subcode, reason, wsman_code, detail=None, wmi_error=False):
        super().__init__(reason)
        self.wmi_error = wmi_error  # also an MSFT_WmiError detail, as Windows gives for quota errors
        self.code = code            # "s:Sender" or "s:Receiver"
        self.subcode = subcode      # e.g. "w:TimedOut"
        self.reason = reason
        self.wsman_code = wsman_code
        self.detail = detail        # a wsman:FaultDetail URI, or None
        self.relates_to = None      # the MessageID of the request, once known


class Request:
    """The parts of a request envelope an operation needs."""

    def __init__(self, root):
        header = root.find(q("s", "Header"))
        self.body = root.find(q("s", "Body"))
        if header is None or self.body is None:
            raise Fault("s:Sender", "w:SchemaValidationError",
                        "The SOAP XML in the message does not match the corresponding XML schema definition.",
                        2150858817)
        self.header = header
        self.action = _text(header, "a", "Action")
        self.resource_uri = _text(header, "w", "ResourceURI")
        self.message_id = _text(header, "a", "MessageID")
        self.to = _text(header, "a", "To")
        self.max_envelope_size = _int(_text(header, "w", "MaxEnvelopeSize"))
        self.operation_timeout = _duration(_text(header, "w", "OperationTimeout"))
        self.selectors = {s.get("Name"): (s.text or "") for s in header.iter(q("w", "Selector"))}
        self.options = {o.get("Name"): (o.text or "") for o in header.iter(q("w", "Option"))}


def _text(parent, prefix, name):
    node = parent.find(q(prefix, name))
    return None if node is None else (node.text or "").strip()


def _int(text):
    try:
        return int(text) if text else None
    except ValueError:
        return None


_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?")


def _duration(text):
    """Seconds of an xs:duration such as ``PT20S`` or ``PT60.000S`` (None if absent)."""
    m = _DURATION.fullmatch(text or "")
    if not m or not text or text == "PT":
        return None
    hours, minutes, seconds = m.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def parse(data):
    """The Request in ``data`` (bytes of one SOAP envelope)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise Fault("s:Sender", "w:SchemaValidationError",
                    "The SOAP XML in the message is not well formed: %s" % e, 2150858817) from e
    if root.tag != q("s", "Envelope"):
        raise Fault("s:Sender", "w:SchemaValidationError",
                    "The message is not a SOAP 1.2 envelope.", 2150858817)
    return Request(root)


def envelope(action, relates_to, body_children=()):
    """A response envelope (bytes) for ``action`` answering the message ``relates_to``."""
    root = ET.Element(q("s", "Envelope"), {"xml:lang": "en-US"})
    header = ET.SubElement(root, q("s", "Header"))
    ET.SubElement(header, q("a", "Action")).text = action
    ET.SubElement(header, q("a", "MessageID")).text = "uuid:%s" % str(uuid.uuid4()).upper()
    ET.SubElement(header, q("a", "To")).text = ANONYMOUS
    if relates_to:
        ET.SubElement(header, q("a", "RelatesTo")).text = relates_to
    body = ET.SubElement(root, q("s", "Body"))
    for child in body_children:
        body.append(child)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def fault_envelope(fault, relates_to, machine):
    """The SOAP 1.2 fault envelope Windows returns with HTTP 500
    ([MS-WSMV] 2.2.4.18 and DSP0226 section 14)."""
    node = ET.Element(q("s", "Fault"))
    code = ET.SubElement(node, q("s", "Code"))
    ET.SubElement(code, q("s", "Value")).text = fault.code
    sub = ET.SubElement(code, q("s", "Subcode"))
    ET.SubElement(sub, q("s", "Value")).text = fault.subcode
    reason = ET.SubElement(node, q("s", "Reason"))
    ET.SubElement(reason, q("s", "Text"), {"xml:lang": "en-US"}).text = fault.reason
    detail = ET.SubElement(node, q("s", "Detail"))
    wsman = ET.SubElement(detail, q("f", "WSManFault"), {"Code": str(fault.wsman_code), "Machine": machine})
    ET.SubElement(wsman, q("f", "Message")).text = fault.reason
    if fault.detail:
        ET.SubElement(detail, q("w", "FaultDetail")).text = fault.detail
    if fault.wmi_error:
        # The CIM error Windows adds for provider and quota errors (what pywinrm reads as wmierror_code).
        wmi = ET.SubElement(detail, q("wmi", "MSFT_WmiError"))
        ET.SubElement(wmi, q("wmi", "Message")).text = fault.reason
        ET.SubElement(wmi, q("wmi", "MessageID")).text = "HRESULT 0x%08x" % fault.wsman_code
        ET.SubElement(wmi, q("wmi", "error_Code")).text = str(fault.wsman_code)
        ET.SubElement(wmi, q("wmi", "error_Type")).text = "HRESULT"
    return envelope(FAULT_ACTION, relates_to, [node])
