#!/usr/bin/env python3
"""Self-check of samples/: well-formedness, MTOM framing, hashes/sizes, ids. Exit 1 on any problem.

    python3 samples/tools/check_samples.py
"""
from __future__ import annotations

import base64
import hashlib
import re
import sys
import tomllib
import xml.dom.minidom
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
DE_UID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
VOCABULARY = SAMPLES.parent / "xds-model" / "src" / "vocabulary.rs"
problems: list[str] = []

# Every string constant of xds-model/src/vocabulary.rs: scheme UUIDs, nodes, object types, status
# URNs, association types, stored query ids and error codes in the samples must be one of them.
VOCAB = set(re.findall(r'"([^"\\]*)"', VOCABULARY.read_text()))
VOCAB_ATTRS = {
    "classificationScheme", "identificationScheme", "classificationNode", "objectType", "associationType",
    "status", "errorCode", "severity",
}
# Deliberately outside the vocabulary (the message is about exactly that).
VOCAB_EXEMPT = {("invalid/iti18-unknown-query-id.xml", "urn:uuid:00000000-1111-4222-8333-444444444444")}

# NAME.expected.toml: keys and their types (samples/README.md, "Invalid messages").
TOML_REQUIRED = {"description": str, "error_codes": list, "parse_error": bool, "rules": list}
TOML_OPTIONAL = {"attribute": str, "severity": str}


def bad(msg):
    problems.append(msg)


# documents by uniqueId (taken from the generator so the two cannot drift apart)
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).parent))
import gen_samples as g  # noqa: E402

by_uid = {}
for d in g.ALL_DOCS:
    data = (SAMPLES / "documents" / d.file).read_bytes()
    by_uid[d.unique_id] = (d.file, data)
    if d.mime == "text/xml":
        xml.dom.minidom.parseString(data)
    if b"\r" in data:
        bad(f"documents/{d.file}: contains CR")


def text(n):
    return "".join(c.data for c in n.childNodes if c.nodeType == c.TEXT_NODE)


def slot_vals(eo, name):
    for s in eo.getElementsByTagNameNS(RIM, "Slot"):
        if s.getAttribute("name") == name and s.parentNode is eo:
            return [text(v) for v in s.getElementsByTagNameNS(RIM, "Value")]
    return None


def check_vocabulary(rel: str, dom):
    for n in dom.getElementsByTagName("*"):
        vals = [(a, n.getAttribute(a)) for a in VOCAB_ATTRS if n.hasAttribute(a)]
        if n.localName == "AdhocQuery":
            vals.append(("AdhocQuery/@id", n.getAttribute("id")))
        for a, v in vals:
            if v not in VOCAB and (rel, v) not in VOCAB_EXEMPT:
                bad(f"{rel}: {a} {v!r} is not in xds-model/src/vocabulary.rs")


def check_expected(rel: str, t: dict):
    for k, ty in TOML_REQUIRED.items():
        if k not in t:
            bad(f"{rel}: no {k}")
        elif not isinstance(t[k], ty):
            bad(f"{rel}: {k} is not a {ty.__name__}")
    for k, ty in TOML_OPTIONAL.items():
        if k in t and not isinstance(t[k], ty):
            bad(f"{rel}: {k} is not a {ty.__name__}")
    for k in t.keys() - TOML_REQUIRED.keys() - TOML_OPTIONAL.keys():
        bad(f"{rel}: unknown key {k}")
    for k in ("error_codes", "rules"):
        if not all(isinstance(x, str) for x in t.get(k, [])):
            bad(f"{rel}: {k} holds a non-string")
    if t.get("severity", "warning") != "warning":
        bad(f"{rel}: severity is {t['severity']!r}; only \"warning\" is allowed (omit it for errors)")
    if t.get("parse_error") and (t.get("error_codes") or t.get("rules") or "attribute" in t):
        bad(f"{rel}: a parse error has no error_codes, rules or attribute")
    if not t.get("parse_error") and not t.get("error_codes"):
        bad(f"{rel}: no error_codes")
    for c in t.get("error_codes", []):
        if c not in VOCAB:
            bad(f"{rel}: error code {c!r} is not in xds-model/src/vocabulary.rs")


def check_dom(rel: str, dom, attachments: dict | None = None, strict_hash=True):
    check_vocabulary(rel, dom)
    for c in dom.getElementsByTagNameNS(RIM, "Classification"):
        if not c.getAttribute("id") or not c.getAttribute("classifiedObject"):
            bad(f"{rel}: Classification without id/classifiedObject")
    for e in dom.getElementsByTagNameNS(RIM, "ExternalIdentifier"):
        for a in ("id", "registryObject", "identificationScheme", "value"):
            if not e.getAttribute(a):
                bad(f"{rel}: ExternalIdentifier without {a}")
        if not e.getElementsByTagNameNS(RIM, "Name"):
            bad(f"{rel}: ExternalIdentifier without Name")
    ids = [n.getAttribute("id") for n in dom.getElementsByTagNameNS(RIM, "*") if n.getAttribute("id")]
    if len(ids) != len(set(ids)):
        bad(f"{rel}: duplicate ids {[i for i in ids if ids.count(i) > 1][:3]}")
    # hash/size truthful
    for eo in dom.getElementsByTagNameNS(RIM, "ExtrinsicObject"):
        uid = [x.getAttribute("value") for x in eo.getElementsByTagNameNS(RIM, "ExternalIdentifier")
               if x.getAttribute("identificationScheme") == DE_UID]
        h, s = slot_vals(eo, "hash"), slot_vals(eo, "size")
        if uid and uid[0] in by_uid and strict_hash:
            data = by_uid[uid[0]][1]
            if h and h[0] != hashlib.sha1(data).hexdigest():
                bad(f"{rel}: hash of {uid[0]} wrong")
            if s and s[0] != str(len(data)):
                bad(f"{rel}: size of {uid[0]} wrong")
    # inline / attached documents equal the document files
    for dres in dom.getElementsByTagNameNS(XDSB, "DocumentResponse"):
        uid = text(dres.getElementsByTagNameNS(XDSB, "DocumentUniqueId")[0])
        check_payload(rel, uid, dres.getElementsByTagNameNS(XDSB, "Document")[0], attachments)
    pnr = dom.getElementsByTagNameNS(XDSB, "ProvideAndRegisterDocumentSetRequest")
    if pnr:
        eos = {eo.getAttribute("id"): eo for eo in dom.getElementsByTagNameNS(RIM, "ExtrinsicObject")}
        for doc in pnr[0].getElementsByTagNameNS(XDSB, "Document"):
            eo = eos.get(doc.getAttribute("id"))
            if eo is None:
                continue
            uid = [x.getAttribute("value") for x in eo.getElementsByTagNameNS(RIM, "ExternalIdentifier")
                   if x.getAttribute("identificationScheme") == DE_UID]
            if uid and strict_hash:
                check_payload(rel, uid[0], doc, attachments)


def check_payload(rel, uid, doc_el, attachments):
    if uid not in by_uid:
        return
    want = by_uid[uid][1]
    inc = doc_el.getElementsByTagNameNS("http://www.w3.org/2004/08/xop/include", "Include")
    if inc:
        href = inc[0].getAttribute("href")
        got = (attachments or {}).get(href[4:])
        if got is None:
            bad(f"{rel}: xop:Include {href} has no part")
        elif got != want:
            bad(f"{rel}: attachment for {uid} differs from documents/{by_uid[uid][0]}")
    else:
        if base64.b64decode(text(doc_el)) != want:
            bad(f"{rel}: inline document {uid} differs from documents/{by_uid[uid][0]}")


def parse_multipart(rel: str, body: bytes, ctype: str):
    if "\n" in ctype or "\r" in ctype:
        bad(f"{rel}.content-type is not a single line")
    m = re.search(r'boundary="([^"]+)"', ctype)
    start = re.search(r'start="<([^>]+)>"', ctype).group(1)
    for needle in ('type="application/xop+xml"', 'start-info="application/soap+xml"', "action="):
        if needle not in ctype:
            bad(f"{rel}.content-type lacks {needle}")
    b = m.group(1).encode()
    if not body.startswith(b"--" + b + b"\r\n"):
        bad(f"{rel}: does not start with the boundary line")
    if not body.endswith(b"\r\n--" + b + b"--\r\n"):
        bad(f"{rel}: does not end with the close delimiter")
    chunks = body.split(b"\r\n--" + b)
    chunks[0] = chunks[0][len(b"--" + b):]
    parts = {}
    for ch in chunks:
        if ch.startswith(b"--"):
            break
        assert ch.startswith(b"\r\n")
        head, _, content = ch[2:].partition(b"\r\n\r\n")
        headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
        for k in headers:
            if b"\n" in k:
                bad(f"{rel}: bare LF in part headers")
        cid = headers[b"Content-ID"].decode().strip("<>")
        parts[cid] = content
    if start not in parts:
        bad(f"{rel}: start part {start} missing")
    return parts[start], {k: v for k, v in parts.items() if k != start}


def main():
    for p in sorted(SAMPLES.rglob("*")):
        rel = str(p.relative_to(SAMPLES))
        if p.is_dir() or rel.startswith("tools/") or p.suffix in (".md",):
            continue
        if rel.startswith("documents/"):
            continue
        if p.suffix == ".toml":
            t = tomllib.loads(p.read_text())
            check_expected(rel, t)
            if not (p.parent / p.name.replace(".expected.toml", ".xml")).exists():
                bad(f"{rel}: no sibling message")
            continue
        if p.suffix == ".content-type":
            continue
        if p.suffix == ".multipart":
            ctype = p.with_suffix(".content-type").read_text()
            root, att = parse_multipart(rel, p.read_bytes(), ctype)
            dom = xml.dom.minidom.parseString(root)
            check_dom(rel, dom, att)
            continue
        if p.suffix == ".xml":
            exp = p.parent / p.name.replace(".xml", ".expected.toml")
            expect_parse_error = exp.exists() and tomllib.loads(exp.read_text()).get("parse_error")
            try:
                dom = xml.dom.minidom.parse(str(p))
            except Exception as e:  # noqa: BLE001
                if not expect_parse_error:
                    bad(f"{rel}: not well-formed: {e}")
                continue
            if expect_parse_error and "DOCTYPE" not in p.read_text():
                bad(f"{rel}: expected a parse error but it parses")
            if rel.startswith("invalid/") and not exp.exists():
                bad(f"{rel}: no .expected.toml")
            check_dom(rel, dom, strict_hash=not rel.startswith("invalid/"))
            continue
        bad(f"{rel}: unexpected file")
    invalid = list((SAMPLES / "invalid").glob("*.xml"))
    print(f"checked; {len(invalid)} invalid samples")
    for pr in problems:
        print("PROBLEM:", pr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
