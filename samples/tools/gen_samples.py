#!/usr/bin/env python3
"""Regenerate every file under samples/ (except README.md and this tools/ folder).

    python3 samples/tools/gen_samples.py          # writes into samples/
    python3 samples/tools/check_samples.py        # verifies well-formedness, hashes, MTOM framing

Everything is deterministic: ids are UUIDv5 values derived from fixed names, times are fixed,
so a re-run produces byte-identical files. All persons are fictitious.
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# Vocabulary (mirrors xds-model/src/vocabulary.rs)
# --------------------------------------------------------------------------------------------
NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
NS_RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
NS_LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
NS_QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
NS_XDSB = "urn:ihe:iti:xds-b:2007"
NS_XOP = "http://www.w3.org/2004/08/xop/include"
NS_RMD = "urn:ihe:iti:rmd:2017"

A_SQ = "urn:ihe:iti:2007:RegistryStoredQuery"
A_SQ_R = "urn:ihe:iti:2007:RegistryStoredQueryResponse"
A_PNR = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
A_PNR_R = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
A_REG = "urn:ihe:iti:2007:RegisterDocumentSet-b"
A_REG_R = "urn:ihe:iti:2007:RegisterDocumentSet-bResponse"
A_RET = "urn:ihe:iti:2007:RetrieveDocumentSet"
A_RET_R = "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
A_MPQ = "urn:ihe:iti:2009:MultiPatientStoredQuery"
A_MPQ_R = "urn:ihe:iti:2009:MultiPatientStoredQueryResponse"
A_UPD = "urn:ihe:iti:2010:UpdateDocumentSet"
A_UPD_R = "urn:ihe:iti:2010:UpdateDocumentSetResponse"
A_DEL = "urn:ihe:iti:2010:DeleteDocumentSet"
A_DEL_R = "urn:ihe:iti:2010:DeleteDocumentSetResponse"

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
SEV_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEV_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"

OT_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
OT_PACKAGE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
OT_ASSOC = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"
OT_CLASS = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
OT_EXTID = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"
NODE_SS = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
NODE_FOLDER = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"

DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONF = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_EVENT = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
FD_CODE = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"
FD_PID = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
FD_UID = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
UPDATE_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"

SQ = {
    "FindDocuments": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
    "FindSubmissionSets": "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9",
    "FindFolders": "urn:uuid:958f3006-baad-4929-a4de-ff1114824431",
    "GetAll": "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3",
    "GetDocuments": "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4",
    "GetFolders": "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4",
    "GetAssociations": "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155",
    "GetDocumentsAndAssociations": "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a",
    "GetSubmissionSets": "urn:uuid:51224314-5390-4169-9b91-b1980040715a",
    "GetSubmissionSetAndContents": "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83",
    "GetFolderAndContents": "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7",
    "GetFoldersForDocument": "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578",
    "GetRelatedDocuments": "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6",
    "FindDocumentsByReferenceId": "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492",
    "FindDocumentsForMultiplePatients": "urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f",
    "FindDocumentsByText": "urn:uuid:e8b9677d-a111-436e-8c51-bd9b38352e1c",
}

CPR_OID = "1.2.208.176.1.2"
SOR_OID = "1.2.208.176.1.1"
CLASS_SYS = "1.2.208.184.100.9"
FORMAT_SYS = "1.2.208.184.100.10"
LOINC = "2.16.840.1.113883.6.1"
SNOMED = "2.16.840.1.113883.6.96"
CONF_SYS = "2.16.840.1.113883.5.25"
SKS = "1.2.208.176.2.4"
APD_FORMAT = "urn:ad:dk:medcom:apd-v2.0.1:full"
IHE_FORMAT_SYS = "1.3.6.1.4.1.19376.1.2.3"

# The test community and the test DROS repository (DK-PROFILE.md §1).
HOME = "urn:oid:1.2.208.176.43210.8.10"
REPO_UID = "1.2.208.176.43210.8.10.11"
REGISTRY_URL = "http://localhost:8080/xds/registry"
REPOSITORY_URL = "http://localhost:8080/xds/repository"
ANON = "http://www.w3.org/2005/08/addressing/anonymous"

UUID_NS = uuid.UUID("6f1c1d2e-4f0a-5b6c-9d7e-2a1b3c4d5e6f")


def u(name: str) -> str:
    """Deterministic urn:uuid for a symbolic name."""
    return "urn:uuid:" + str(uuid.uuid5(UUID_NS, name))


def oid(name: str) -> str:
    """Deterministic UUID-derived OID (2.25.<integer>, ITU-T X.667)."""
    return "2.25." + str(uuid.uuid5(UUID_NS, name).int)


# --------------------------------------------------------------------------------------------
# A tiny XML tree with deterministic, indented serialisation
# --------------------------------------------------------------------------------------------
def esc_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(s: str) -> str:
    return esc_text(s).replace('"', "&quot;")


class E:
    def __init__(self, tag: str, attrs: dict | None = None, *children, text: str | None = None):
        self.tag = tag
        self.attrs = dict(attrs or {})
        self.children = [c for c in children if c is not None]
        self.text = text

    def add(self, *children):
        self.children.extend(c for c in children if c is not None)
        return self

    def render(self, level: int = 0) -> str:
        pad = "  " * level
        attrs = "".join(f' {k}="{esc_attr(v)}"' for k, v in self.attrs.items())
        if not self.children and self.text is None:
            return f"{pad}<{self.tag}{attrs}/>\n"
        if not self.children:
            return f"{pad}<{self.tag}{attrs}>{esc_text(self.text)}</{self.tag}>\n"
        inner = "".join(c.render(level + 1) for c in self.children)
        return f"{pad}<{self.tag}{attrs}>\n{inner}{pad}</{self.tag}>\n"

    # --- tree surgery used by the invalid samples ---
    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, E):
                yield from c.walk()

    def find_id(self, id_: str) -> "E":
        for n in self.walk():
            if n.attrs.get("id") == id_:
                return n
        raise KeyError(id_)

    def remove(self, pred) -> int:
        removed = 0
        for n in self.walk():
            keep = [c for c in n.children if not (isinstance(c, E) and pred(c))]
            removed += len(n.children) - len(keep)
            n.children = keep
        assert removed, "nothing removed"
        return removed

    def find_all(self, pred):
        return [n for n in self.walk() if pred(n)]


class Raw:
    """Pre-rendered XML text inserted verbatim (comments, base64 blocks)."""

    def __init__(self, text: str):
        self.text = text

    def render(self, level: int = 0) -> str:
        pad = "  " * level
        return "".join(pad + line + "\n" for line in self.text.split("\n"))


def xml_doc(root: E) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + root.render()


def write(rel: str, data, binary: bool = False):
    p = SAMPLES / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    p.write_bytes(data)


# --------------------------------------------------------------------------------------------
# ebRIM helpers
# --------------------------------------------------------------------------------------------
def slot(name: str, *values: str) -> E:
    return E("rim:Slot", {"name": name},
             E("rim:ValueList", None, *[E("rim:Value", None, text=v) for v in values]))


def name(value: str) -> E:
    return E("rim:Name", None, E("rim:LocalizedString", {"xml:lang": "da-DK", "value": value}))


def description(value: str) -> E:
    return E("rim:Description", None, E("rim:LocalizedString", {"xml:lang": "da-DK", "value": value}))


def coded(id_: str, scheme: str, obj: str, code: str, display: str, system: str) -> E:
    return E("rim:Classification", {"id": id_, "objectType": OT_CLASS, "classificationScheme": scheme,
                                     "classifiedObject": obj, "nodeRepresentation": code},
             slot("codingScheme", system), name(display))


def ext_id(id_: str, obj: str, scheme: str, value: str, label: str) -> E:
    return E("rim:ExternalIdentifier", {"id": id_, "objectType": OT_EXTID, "registryObject": obj,
                                         "identificationScheme": scheme, "value": value},
             name(label))


def assoc(id_: str, atype: str, src: str, tgt: str, *slots_, status: str | None = None) -> E:
    a = {"id": id_, "objectType": OT_ASSOC, "associationType": atype, "sourceObject": src, "targetObject": tgt}
    if status:
        a["status"] = status
    return E("rim:Association", a, *slots_)


def pid(cpr: str) -> str:
    return f"{cpr}^^^&{CPR_OID}&ISO"


# --------------------------------------------------------------------------------------------
# People, organisations, documents
# --------------------------------------------------------------------------------------------
@dataclass
class Patient:
    cpr: str
    given: str
    family: str
    birth: str  # YYYYMMDD
    gender: str  # F/M
    street: str
    postal: str
    city: str

    @property
    def given_first(self):
        return self.given.split()[0]

    @property
    def given_middle(self):
        return " ".join(self.given.split()[1:])


@dataclass
class Org:
    sor: str
    name: str  # full "Hospital, Department"
    street: str
    postal: str
    city: str
    phone: str
    facility: tuple  # (code, display) SNOMED
    practice: tuple  # (code, display) SNOMED
    source_id: str  # submitting EPJ system OID
    system: str  # EPJ system name

    @property
    def xon(self):
        return f"{self.name}^^^^^&{SOR_OID}&ISO^^^^{self.sor}"


@dataclass
class Person:
    given: str
    family: str
    middle: str = ""
    title: str = "Læge"
    auth_code: str = ""

    @property
    def xcn(self):
        mid = self.middle.replace(" ", "&")
        return f"^{self.family}^{self.given}^{mid}^^^"


P1 = Patient("2512489996", "Nancy Ann", "Berggren", "19481225", "F", "Åvej 29", "5000", "Odense C")
P2 = Patient("0101700013", "Jens Peter", "Mikkelsen", "19700101", "M", "Skovbrynet 14, 2. tv.", "8240", "Risskov")
P3 = Patient("0201919990", "Karen Sofie", "Holm", "19910201", "F", "Nørre Allé 51, 3. th.", "2200", "København N")

OUH = Org("320721000016002", "Odense Universitetshospital, Lungemedicinsk afdeling J",
          "J. B. Winsløws Vej 4", "5000", "Odense C", "65412345",
          ("22232009", "hospital"), ("418112009", "lungesygdomme"),
          "1.2.208.176.43210.8.1.101", "Region Syddanmark EPJ")
AUH = Org("242621000016001", "Aarhus Universitetshospital, Hjertesygdomme",
          "Palle Juul-Jensens Boulevard 99", "8200", "Aarhus N", "78452000",
          ("22232009", "hospital"), ("394579002", "kardiologi"),
          "1.2.208.176.43210.8.1.102", "Region Midtjylland EPJ")
RH = Org("328081000016004", "Rigshospitalet, Ortopædkirurgisk klinik",
         "Blegdamsvej 9", "2100", "København Ø", "35453545",
         ("22232009", "hospital"), ("394801008", "ortopædisk kirurgi"),
         "1.2.208.176.43210.8.1.103", "Region Hovedstaden EPJ")

DR_LUND = Person("Mette", "Lund", "Kjær", "Læge", "7QK4T")
DR_BECH = Person("Anders", "Bech", "", "Overlæge", "5DW2R")
SEC_OUH = Person("Birthe", "Nørgaard", "", "Lægesekretær")
DR_HOLT = Person("Søren", "Holt", "Vestergaard", "Læge", "3LM8X")
DR_KRAG = Person("Lise", "Krag", "", "Overlæge", "8PN1C")
DR_STORM = Person("Thomas", "Storm", "", "Læge", "9HV6B")
DR_ENGEL = Person("Ida", "Engel", "Marie", "Overlæge", "2RT5K")

TYPE_APD = ("39289-4", "Dato og tidspunkt for møde mellem patient og sundhedsperson")
TYPE_INSTR = ("69730-0", "Instruktioner")
EVENTS = {
    "ALAL02": "Hjertesygdomme",
    "ALAL21": "Kronisk obstruktiv lungesygdom (KOL)",
    "ALAL23": "Osteoporose",
}


@dataclass
class Doc:
    key: str  # short key, also used to derive ids
    file: str  # file name under documents/
    patient: Patient
    org: Org
    author: Person
    legal: Person
    mime: str
    title: str
    type_code: tuple
    format_code: tuple  # (code, display, system)
    event: str
    creation: str  # UTC YYYYMMDDhhmmss
    start_local: str = ""  # CDA value with offset
    stop_local: str = ""
    start_utc: str = ""
    stop_utc: str = ""
    reason: str = ""
    reason_code: tuple = ("17436001", "lægekonsultation med ambulant patient")
    place: str = ""
    prep: list = field(default_factory=list)
    reference_ids: list = field(default_factory=list)
    version: int = 1
    replaces: "Doc | None" = None
    status: str = APPROVED
    comments: str = ""
    content: bytes = b""

    @property
    def entry_uuid(self):
        return u("entry:" + self.key)

    @property
    def unique_id(self):
        return oid("doc:" + self.key)

    @property
    def cda_id(self):
        # ClinicalDocument/id extension; the XDS uniqueId is the 2.25 OID of the same name
        return str(uuid.uuid5(UUID_NS, "doc:" + self.key))

    @property
    def set_id(self):
        base = self.replaces.key if self.replaces else self.key
        return str(uuid.uuid5(UUID_NS, "set:" + base))

    @property
    def sha1(self):
        return hashlib.sha1(self.content).hexdigest()

    @property
    def size(self):
        return str(len(self.content))


APD = (APD_FORMAT, "DK APD schema", FORMAT_SYS)

D_KOL = Doc("apd-p1-kol", "apd-2512489996-kol-kontrol.xml", P1, OUH, DR_LUND, DR_BECH, "text/xml",
            "Aftale for 2512489996", TYPE_APD, APD, "ALAL21", "20261201094200",
            "20270112093000+0100", "20270112101500+0100", "20270112083000", "20270112091500",
            reason="Ambulant kontrol af KOL",
            place="Lungemedicinsk Ambulatorium J, indgang 87, stuen",
            prep=["Medbring dine inhalatorer og en opdateret medicinliste.",
                  "Undlad at ryge de sidste 4 timer før besøget.",
                  "Du får målt iltmætning og vægt, inden du taler med lægen."],
            reference_ids=["HEN-2026-114471^^^&1.2.208.176.43210.8.1.101&ISO^urn:ihe:iti:xds:2013:referral"])
D_SPIRO = Doc("apd-p1-spiro", "apd-2512489996-lungefunktion.xml", P1, OUH, DR_LUND, DR_BECH, "text/xml",
              "Aftale for 2512489996", TYPE_APD, APD, "ALAL21", "20261201094400",
              "20270112084500+0100", "20270112091500+0100", "20270112074500", "20270112081500",
              reason="Lungefunktionsundersøgelse (spirometri) før KOL-kontrol",
              reason_code=("127783003", "spirometri"),
              place="Lungefunktionslaboratoriet, indgang 87, 1. sal",
              prep=["Brug ikke korttidsvirkende inhalationsmedicin de sidste 6 timer før undersøgelsen.",
                    "Spis ikke et stort måltid lige inden.",
                    "Undersøgelsen tager ca. 30 minutter."],
              reference_ids=["HEN-2026-114471^^^&1.2.208.176.43210.8.1.101&ISO^urn:ihe:iti:xds:2013:referral"])
D_NOTE = Doc("txt-p1-info", "note-2512489996-praktisk-information.txt", P1, OUH, SEC_OUH, DR_BECH,
             "text/plain", "Praktisk information før KOL-kontrol", TYPE_INSTR,
             ("urn:ihe:iti:xds:2017:mimeTypeSufficient", "Format fremgår af mimeType", IHE_FORMAT_SYS),
             "ALAL21", "20261201095000")
D_EKKO = Doc("apd-p2-ekko", "apd-0101700013-ekkokardiografi.xml", P2, AUH, DR_HOLT, DR_KRAG, "text/xml",
             "Aftale for 0101700013", TYPE_APD, APD, "ALAL02", "20261202072000",
             "20270114130000+0100", "20270114140000+0100", "20270114120000", "20270114130000",
             reason="Ekkokardiografi (ultralydsscanning af hjertet)",
             reason_code=("40701008", "ekkokardiografi"),
             place="Hjertesygdomme, Ambulatorium C1, indgang C, plan 1",
             prep=["Du må spise og drikke som normalt og tage din vanlige medicin.",
                   "Tag en løstsiddende trøje på, da du skal klæde om til livet.",
                   "Afsæt ca. 1 time til besøget."])
D_KNOGLE = Doc("apd-p3-knogle", "apd-0201919990-osteoporose.xml", P3, RH, DR_STORM, DR_ENGEL, "text/xml",
               "Aftale for 0201919990", TYPE_APD, APD, "ALAL23", "20261203115500",
               "20270119100000+0100", "20270119103000+0100", "20270119090000", "20270119093000",
               reason="Opfølgning efter håndledsbrud og udredning for knogleskørhed",
               place="Ortopædkirurgisk klinik, afsnit 2162, opgang 2, 1. sal",
               prep=["Medbring liste over den medicin, du tager, herunder kalk og D-vitamin.",
                     "Du skal have taget blodprøver senest 3 dage før besøget.",
                     "Spørg gerne en pårørende, om de vil med."])
D_KNOGLE2 = Doc("apd-p3-knogle-v2", "apd-0201919990-osteoporose-ny-tid.xml", P3, RH, DR_STORM, DR_ENGEL,
                "text/xml", "Aftale for 0201919990", TYPE_APD, APD, "ALAL23", "20261207100500",
                "20270126111500+0100", "20270126114500+0100", "20270126101500", "20270126104500",
                reason="Opfølgning efter håndledsbrud og udredning for knogleskørhed (ny tid)",
                place="Ortopædkirurgisk klinik, afsnit 2162, opgang 2, 1. sal",
                prep=["Bemærk: Tiden er flyttet fra 19. januar til 26. januar 2027 kl. 11.15.",
                      "Medbring liste over den medicin, du tager, herunder kalk og D-vitamin.",
                      "Du skal have taget blodprøver senest 3 dage før besøget."],
                version=2, replaces=D_KNOGLE)
# D_KNOGLE is replaced by D_KNOGLE2 -> Deprecated in the registry after the RPLC submission.
D_KNOGLE.status = DEPRECATED

ALL_DOCS = [D_KOL, D_SPIRO, D_NOTE, D_EKKO, D_KNOGLE, D_KNOGLE2]


# --------------------------------------------------------------------------------------------
# Documents: MedCom DK APD v2.0.1 shaped CDA, and one text/plain
# --------------------------------------------------------------------------------------------
def hl7_date(local: str) -> str:
    """20270112093000+0100 -> 2027-01-12 09:30"""
    return f"{local[0:4]}-{local[4:6]}-{local[6:8]} {local[8:10]}:{local[10:12]}"


def cda(d: Doc) -> str:
    p, o = d.patient, d.org
    mid = f"\n          <given>{p.given_middle}</given>" if p.given_middle else ""
    a_mid = f"\n          <given>{d.author.middle}</given>" if d.author.middle else ""
    l_mid = f"\n          <given>{d.legal.middle}</given>" if d.legal.middle else ""
    created_local = utc_to_local(d.creation)
    enc_id = str(uuid.uuid5(UUID_NS, "encounter:" + (d.replaces.key if d.replaces else d.key)))
    prep_rows = "".join(f"\n              <item>{x}</item>" for x in d.prep)
    related = ""
    if d.replaces:
        related = f"""
  <!-- This version replaces the earlier appointment document (new time) -->
  <relatedDocument typeCode="RPLC">
    <parentDocument>
      <id root="1.2.208.184" extension="{d.replaces.cda_id}" assigningAuthorityName="MedCom"/>
      <setId root="1.2.208.184" extension="{d.set_id}"/>
      <versionNumber value="{d.replaces.version}"/>
    </parentDocument>
  </relatedDocument>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Fictitious sample (DDS samples): MedCom DK APD v2.0.1 shaped appointment document. All persons are invented. -->
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" classCode="DOCCLIN" moodCode="EVN">
  <realmCode code="DK"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.208.184.14.1" extension="2019-09-10"/>
  <id root="1.2.208.184" extension="{d.cda_id}" assigningAuthorityName="MedCom"/>
  <code code="39289-4" codeSystem="{LOINC}" codeSystemName="LOINC" displayName="{TYPE_APD[1]}"/>
  <title>{d.title}</title>
  <effectiveTime value="{created_local}"/>
  <confidentialityCode code="N" codeSystem="{CONF_SYS}"/>
  <languageCode code="da-DK"/>
  <setId root="1.2.208.184" extension="{d.set_id}"/>
  <versionNumber value="{d.version}"/>
  <recordTarget typeCode="RCT" contextControlCode="OP">
    <patientRole classCode="PAT">
      <id extension="{p.cpr}" root="{CPR_OID}" assigningAuthorityName="CPR"/>
      <addr use="H">
        <streetAddressLine>{p.street}</streetAddressLine>
        <postalCode>{p.postal}</postalCode>
        <city>{p.city}</city>
      </addr>
      <patient classCode="PSN" determinerCode="INSTANCE">
        <name>
          <given>{p.given_first}</given>{mid}
          <family>{p.family}</family>
        </name>
        <administrativeGenderCode code="{p.gender}" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="{p.birth}000000+0000"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author typeCode="AUT" contextControlCode="OP">
    <time value="{created_local}"/>
    <assignedAuthor classCode="ASSIGNED">
      <id extension="{o.sor}" root="{SOR_OID}" assigningAuthorityName="SOR"/>
      <addr use="WP">
        <streetAddressLine>{o.street}</streetAddressLine>
        <postalCode>{o.postal}</postalCode>
        <city>{o.city}</city>
      </addr>
      <telecom value="tel:{o.phone}" use="WP"/>
      <assignedPerson classCode="PSN" determinerCode="INSTANCE">
        <name>
          <prefix>{d.author.title}</prefix>
          <given>{d.author.given}</given>{a_mid}
          <family>{d.author.family}</family>
        </name>
      </assignedPerson>
      <representedOrganization classCode="ORG" determinerCode="INSTANCE">
        <name>{o.name}</name>
      </representedOrganization>
    </assignedAuthor>
  </author>
  <custodian typeCode="CST">
    <assignedCustodian classCode="ASSIGNED">
      <representedCustodianOrganization classCode="ORG" determinerCode="INSTANCE">
        <id extension="{o.sor}" root="{SOR_OID}" assigningAuthorityName="SOR"/>
        <name>{o.name}</name>
        <telecom value="tel:{o.phone}" use="WP"/>
        <addr use="WP">
          <streetAddressLine>{o.street}</streetAddressLine>
          <postalCode>{o.postal}</postalCode>
          <city>{o.city}</city>
        </addr>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <legalAuthenticator typeCode="LA" contextControlCode="OP">
    <time value="{created_local}"/>
    <signatureCode code="S"/>
    <assignedEntity classCode="ASSIGNED">
      <id extension="{o.sor}" root="{SOR_OID}" assigningAuthorityName="SOR"/>
      <assignedPerson classCode="PSN" determinerCode="INSTANCE">
        <name>
          <prefix>{d.legal.title}</prefix>
          <given>{d.legal.given}</given>{l_mid}
          <family>{d.legal.family}</family>
        </name>
      </assignedPerson>
      <representedOrganization classCode="ORG" determinerCode="INSTANCE">
        <name>{o.name}</name>
      </representedOrganization>
    </assignedEntity>
  </legalAuthenticator>
  <!-- The appointment period (APD: start and end time, template 1.2.208.184.10.1.11) -->
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="MPROT" moodCode="EVN">
      <templateId root="1.2.208.184.10.1.11"/>
      <effectiveTime>
        <low value="{d.start_local}"/>
        <high value="{d.stop_local}"/>
      </effectiveTime>
    </serviceEvent>
  </documentationOf>
  <!-- The CDA profile and its version (apd-v2.0.1) -->
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="MPROT" moodCode="EVN">
      <templateId root="1.2.208.184.10.1.10"/>
      <id root="1.2.208.184.100.3" extension="apd-v2.0.1" assigningAuthorityName="MedCom"/>
    </serviceEvent>
  </documentationOf>
  <!-- The care-pathway label (SKS), mapped to XDS eventCodeList -->
  <documentationOf typeCode="DOC">
    <serviceEvent classCode="MPROT" moodCode="EVN">
      <templateId root="1.2.208.184.10.1.12"/>
      <code code="{d.event}" codeSystem="{SKS}" codeSystemName="SKS" displayName="{EVENTS[d.event]}"/>
    </serviceEvent>
  </documentationOf>{related}
  <componentOf>
    <encompassingEncounter classCode="ENC" moodCode="EVN">
      <id root="1.2.208.184" extension="{enc_id}" assigningAuthorityName="MedCom"/>
      <effectiveTime>
        <low value="{d.start_local}"/>
        <high value="{d.stop_local}"/>
      </effectiveTime>
      <location typeCode="LOC">
        <healthCareFacility classCode="SDLOC">
          <id extension="{o.sor}" root="{SOR_OID}" assigningAuthorityName="SOR"/>
        </healthCareFacility>
      </location>
    </encompassingEncounter>
  </componentOf>
  <component>
    <structuredBody>
      <component>
        <section classCode="DOCSECT" moodCode="EVN">
          <templateId root="1.2.208.184.14.11.1" extension="2019-09-10"/>
          <code code="18776-5" codeSystem="{LOINC}" codeSystemName="LOINC"/>
          <title>Aftale</title>
          <text>
            <paragraph>Du har en aftale på {o.name}.</paragraph>
            <table width="100%">
              <thead>
                <tr>
                  <th>Tidspunkt</th>
                  <th>Vedrørende</th>
                  <th>Udførende organisation</th>
                  <th>Mødested</th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <td>{hl7_date(d.start_local)} - {hl7_date(d.stop_local)[11:]}</td>
                  <td>{d.reason}</td>
                  <td>{o.name}, {o.street}, {o.postal} {o.city}, tlf. {o.phone}</td>
                  <td>{d.place}, {o.street}, {o.postal} {o.city}</td>
                </tr>
              </tbody>
            </table>
            <paragraph>Forberedelse:</paragraph>
            <list listType="unordered">{prep_rows}
            </list>
            <paragraph>Er du forhindret, så ring venligst på tlf. {o.phone} hverdage kl. 8-14.</paragraph>
          </text>
          <entry>
            <encounter classCode="ENC" moodCode="APT">
              <templateId root="1.2.208.184.14.11.2" extension="2019-09-10"/>
              <id root="1.2.208.184" extension="{enc_id}" assigningAuthorityName="MedCom"/>
              <code code="RegionalAppointment" codeSystem="1.2.208.184.100.1" codeSystemName="MedCom Message Codes"/>
              <statusCode code="active"/>
              <effectiveTime>
                <low value="{d.start_local}"/>
                <high value="{d.stop_local}"/>
              </effectiveTime>
              <performer typeCode="PRF">
                <assignedEntity classCode="ASSIGNED">
                  <id extension="{o.sor}" root="{SOR_OID}" assigningAuthorityName="SOR"/>
                  <representedOrganization classCode="ORG" determinerCode="INSTANCE">
                    <name>{o.name}</name>
                    <telecom value="tel:{o.phone}" use="WP"/>
                    <addr use="WP">
                      <streetAddressLine>{o.street}</streetAddressLine>
                      <postalCode>{o.postal}</postalCode>
                      <city>{o.city}</city>
                    </addr>
                  </representedOrganization>
                </assignedEntity>
              </performer>
              <participant typeCode="LOC">
                <participantRole classCode="SDLOC">
                  <templateId root="1.2.208.184.14.11.3" extension="2019-09-10"/>
                  <id extension="{o.sor}" root="{SOR_OID}" assigningAuthorityName="SOR"/>
                  <addr use="WP">
                    <streetAddressLine>{o.street}</streetAddressLine>
                    <postalCode>{o.postal}</postalCode>
                    <city>{o.city}</city>
                  </addr>
                  <telecom value="tel:{o.phone}" use="WP"/>
                  <playingEntity classCode="PLC" determinerCode="INSTANCE">
                    <name>{d.place}</name>
                  </playingEntity>
                </participantRole>
              </participant>
              <entryRelationship typeCode="RSON">
                <observation classCode="OBS" moodCode="EVN">
                  <code code="{d.reason_code[0]}" codeSystem="{SNOMED}" codeSystemName="SNOMED CT" displayName="{d.reason_code[1]}"/>
                </observation>
              </entryRelationship>
            </encounter>
          </entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
"""


def utc_to_local(ts: str) -> str:
    """All sample times are in winter (CET, +0100): UTC YYYYMMDDhhmmss -> HL7 TS with +0100."""
    import datetime as dt
    t = dt.datetime.strptime(ts, "%Y%m%d%H%M%S") + dt.timedelta(hours=1)
    return t.strftime("%Y%m%d%H%M%S") + "+0100"


NOTE_TEXT = """Odense Universitetshospital
Lungemedicinsk afdeling J
J. B. Winsløws Vej 4, 5000 Odense C
Tlf. 65 41 23 45 (hverdage kl. 8-14)

Praktisk information til Nancy Ann Berggren, CPR 251248-9996

Du er indkaldt til to undersøgelser tirsdag den 12. januar 2027:

  kl. 08.45  Lungefunktionsundersøgelse (spirometri)
             Lungefunktionslaboratoriet, indgang 87, 1. sal
  kl. 09.30  Kontrol i Lungemedicinsk Ambulatorium J
             indgang 87, stuen

Parkering: P-hus 4 ved indgang 87. Der er gangbesværede-pladser
ved hovedindgangen.

Befordring: Har du brug for kørsel, skal du selv bestille den
senest 2 hverdage før på tlf. 70 11 22 33.

Tolk: Har du brug for tolk, så kontakt os, så bestiller vi en.

Med venlig hilsen
Lungemedicinsk Ambulatorium J
"""


# --------------------------------------------------------------------------------------------
# Metadata builders
# --------------------------------------------------------------------------------------------
def author_cl(id_: str, scheme: str, obj: str, org: Org, person: Person | None, role: str | None,
              specialty: str | None) -> E:
    c = E("rim:Classification", {"id": id_, "objectType": OT_CLASS, "classificationScheme": scheme,
                                  "classifiedObject": obj, "nodeRepresentation": ""})
    if person:
        c.add(slot("authorPerson", person.xcn))
    c.add(slot("authorInstitution", org.xon))
    if role:
        c.add(slot("authorRole", role))
    if specialty:
        c.add(slot("authorSpecialty", specialty))
    return c


def doc_entry(d: Doc, mode: str, sym: str = "Document01", *, with_hash: bool | None = None,
              with_repo: bool | None = None, eid: str | None = None, lid: str | None = None,
              status: str | None = None, version: str | None = None) -> E:
    """mode: 'submit' (ITI-41), 'register' (ITI-42), 'stored' (query responses), 'update' (ITI-57)."""
    stored = mode in ("stored", "update")
    if eid is None:
        eid = d.entry_uuid if stored else sym
    if with_hash is None:
        with_hash = mode in ("register", "stored", "update")
    if with_repo is None:
        with_repo = mode in ("register", "stored", "update")
    attrs = {"id": eid}
    if mode == "stored":
        attrs["home"] = HOME
        attrs["lid"] = lid or d.entry_uuid
        attrs["status"] = status or d.status
    if mode == "update":
        attrs["lid"] = lid or d.entry_uuid
    attrs["objectType"] = OT_STABLE
    attrs["mimeType"] = d.mime
    p = d.patient
    x = E("rim:ExtrinsicObject", attrs)
    x.add(slot("creationTime", d.creation))
    if with_hash:
        x.add(slot("hash", d.sha1))
    x.add(slot("languageCode", "da-DK"))
    x.add(slot("legalAuthenticator", d.legal.xcn))
    if with_repo:
        x.add(slot("repositoryUniqueId", REPO_UID))
    if d.start_utc:
        x.add(slot("serviceStartTime", d.start_utc))
        x.add(slot("serviceStopTime", d.stop_utc))
    if with_hash:
        x.add(slot("size", d.size))
    x.add(slot("sourcePatientId", pid(p.cpr)))
    x.add(slot("sourcePatientInfo", f"PID-3|{pid(p.cpr)}",
               f"PID-5|{p.family}^{p.given_first}^{p.given_middle}^^^",
               f"PID-7|{p.birth}", f"PID-8|{p.gender}"))
    if d.reference_ids:
        x.add(slot("urn:ihe:iti:xds:2013:referenceIdList", *d.reference_ids))
    x.add(name(d.title))
    if d.comments:
        x.add(description(d.comments))
    if mode == "stored":
        x.add(E("rim:VersionInfo", {"versionName": version or "1"}))

    def cid(n):
        return u(f"{eid}:{n}") if stored else f"{sym}-{n}"

    o = d.org
    x.add(author_cl(cid("author"), DE_AUTHOR, eid, o, d.author, d.author.title, o.practice[1]))
    x.add(coded(cid("classCode"), DE_CLASS, eid, "001", "Klinisk rapport", CLASS_SYS))
    x.add(coded(cid("confidentialityCode"), DE_CONF, eid, "N", "Normal", CONF_SYS))
    x.add(coded(cid("eventCode"), DE_EVENT, eid, d.event, EVENTS[d.event], SKS))
    x.add(coded(cid("formatCode"), DE_FORMAT, eid, d.format_code[0], d.format_code[1], d.format_code[2]))
    x.add(coded(cid("healthcareFacilityTypeCode"), DE_FACILITY, eid, o.facility[0], o.facility[1], SNOMED))
    x.add(coded(cid("practiceSettingCode"), DE_PRACTICE, eid, o.practice[0], o.practice[1], SNOMED))
    x.add(coded(cid("typeCode"), DE_TYPE, eid, d.type_code[0], d.type_code[1], LOINC))
    x.add(ext_id(cid("patientId"), eid, DE_PID, pid(p.cpr), "XDSDocumentEntry.patientId"))
    x.add(ext_id(cid("uniqueId"), eid, DE_UID, d.unique_id, "XDSDocumentEntry.uniqueId"))
    return x


@dataclass
class SubSet:
    key: str
    patient: Patient
    org: Org
    author: Person
    time: str
    title: str

    @property
    def entry_uuid(self):
        return u("ss:" + self.key)

    @property
    def unique_id(self):
        return oid("ss:" + self.key)


def submission_set(s: SubSet, mode: str, sym: str = "SubmissionSet01") -> list:
    """Returns [RegistryPackage, Classification] for submissions, [RegistryPackage] when stored
    (classification nested)."""
    stored = mode == "stored"
    sid = s.entry_uuid if mode in ("stored", "uuid") else sym
    attrs = {"id": sid, "objectType": OT_PACKAGE}
    if stored:
        attrs["home"] = HOME
        attrs["status"] = APPROVED
    rp = E("rim:RegistryPackage", attrs)
    rp.add(slot("submissionTime", s.time))
    rp.add(name(s.title))

    def cid(n):
        return u(f"{sid}:{n}") if mode in ("stored", "uuid") else f"{sym}-{n}"

    node = E("rim:Classification", {"id": cid("ssNode"), "objectType": OT_CLASS, "classifiedObject": sid,
                                     "classificationNode": NODE_SS})
    if stored:
        rp.add(node)
    rp.add(author_cl(cid("author"), SS_AUTHOR, sid, s.org, s.author, s.author.title, None))
    rp.add(coded(cid("contentTypeCode"), SS_CONTENT, sid, TYPE_APD[0], TYPE_APD[1], LOINC))
    rp.add(ext_id(cid("uniqueId"), sid, SS_UID, s.unique_id, "XDSSubmissionSet.uniqueId"))
    rp.add(ext_id(cid("sourceId"), sid, SS_SOURCE, s.org.source_id, "XDSSubmissionSet.sourceId"))
    rp.add(ext_id(cid("patientId"), sid, SS_PID, pid(s.patient.cpr), "XDSSubmissionSet.patientId"))
    return [rp] if stored else [rp, node]


FOLDER_KEY = "folder:p1-kol-2027"
FOLDER_UUID = u(FOLDER_KEY)
FOLDER_UID = oid(FOLDER_KEY)
FOLDER_TITLE = "KOL-forløb, kontrol januar 2027"


def folder(mode: str, sym: str = "Folder01") -> list:
    stored = mode == "stored"
    fid = FOLDER_UUID if stored else sym
    attrs = {"id": fid, "objectType": OT_PACKAGE}
    if stored:
        attrs["home"] = HOME
        attrs["status"] = APPROVED
    rp = E("rim:RegistryPackage", attrs)
    if stored:
        rp.add(slot("lastUpdateTime", "20261201095500"))
    rp.add(name(FOLDER_TITLE))

    def cid(n):
        return u(f"{fid}:{n}") if stored else f"{sym}-{n}"

    node = E("rim:Classification", {"id": cid("folderNode"), "objectType": OT_CLASS, "classifiedObject": fid,
                                     "classificationNode": NODE_FOLDER})
    if stored:
        rp.add(node)
    rp.add(coded(cid("codeList"), FD_CODE, fid, "ALAL21", EVENTS["ALAL21"], SKS))
    rp.add(ext_id(cid("patientId"), fid, FD_PID, pid(P1.cpr), "XDSFolder.patientId"))
    rp.add(ext_id(cid("uniqueId"), fid, FD_UID, FOLDER_UID, "XDSFolder.uniqueId"))
    return [rp] if stored else [rp, node]


def ss_status(v="Original"):
    return slot("SubmissionSetStatus", v)


# --------------------------------------------------------------------------------------------
# SOAP
# --------------------------------------------------------------------------------------------
def envelope(action: str, body: E, *, msg: str, to: str | None = None, relates: str | None = None,
             extra_headers: list | None = None, ns_extra: dict | None = None, comment: str | None = None) -> E:
    attrs = {"xmlns:soap": NS_SOAP, "xmlns:wsa": NS_WSA}
    attrs.update(ns_extra or {})
    hdr = E("soap:Header")
    if comment:
        hdr.add(Raw(f"<!-- {comment} -->"))
    for h in extra_headers or []:
        hdr.add(h)
    hdr.add(E("wsa:Action", {"soap:mustUnderstand": "true"}, text=action))
    if relates is None:
        hdr.add(E("wsa:MessageID", None, text=msg))
        hdr.add(E("wsa:ReplyTo", None, E("wsa:Address", None, text=ANON)))
        hdr.add(E("wsa:To", {"soap:mustUnderstand": "true"}, text=to))
    else:
        hdr.add(E("wsa:RelatesTo", None, text=relates))
    return E("soap:Envelope", attrs, hdr, E("soap:Body", None, body))


def request(action, body, name_, to, **kw):
    return envelope(action, body, msg=u("msg:" + name_), to=to, **kw)


def response(action, body, request_name):
    return envelope(action, body, msg="", relates=u("msg:" + request_name))


def registry_response(status=SUCCESS, errors=None) -> E:
    r = E("rs:RegistryResponse", {"xmlns:rs": NS_RS, "status": status})
    if errors:
        r.add(error_list(errors))
    return r


def error_list(errors) -> E:
    sev = SEV_ERROR if any(e[3] == SEV_ERROR for e in errors) else SEV_WARNING
    el = E("rs:RegistryErrorList", {"highestSeverity": sev})
    for code, ctx, loc, s in errors:
        a = {"errorCode": code, "codeContext": ctx, "severity": s}
        if loc:
            a["location"] = loc
        el.add(E("rs:RegistryError", a))
    return el


# --------------------------------------------------------------------------------------------
# MTOM
# --------------------------------------------------------------------------------------------
def mtom(root_xml: str, parts: list, action: str, boundary: str, root_cid: str) -> tuple[bytes, str]:
    """parts: [(content_id, content_type, bytes)]. Returns (body, content_type_header)."""
    crlf = b"\r\n"
    b = boundary.encode()
    out = bytearray()
    out += b"--" + b + crlf
    out += (f'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; '
            f'action="{action}"').encode() + crlf
    out += b"Content-Transfer-Encoding: binary" + crlf
    out += f"Content-ID: <{root_cid}>".encode() + crlf + crlf
    out += root_xml.encode("utf-8") + crlf
    for cid_, ctype, data in parts:
        out += b"--" + b + crlf
        out += f"Content-Type: {ctype}".encode() + crlf
        out += b"Content-Transfer-Encoding: binary" + crlf
        out += f"Content-ID: <{cid_}>".encode() + crlf + crlf
        out += data + crlf
    out += b"--" + b + b"--" + crlf
    ct = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
          f'start="<{root_cid}>"; start-info="application/soap+xml"; action="{action}"')
    return bytes(out), ct


def write_mtom(rel_base: str, env: E, parts, action, boundary, root_cid):
    body, ct = mtom(xml_doc(env), parts, action, boundary, root_cid)
    write(rel_base + ".multipart", body)
    write(rel_base + ".content-type", ct)


def b64_lines(data: bytes) -> str:
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def doc_cid(d: Doc, tag: str) -> str:
    return f"{tag}.{str(uuid.uuid5(UUID_NS, 'cid:' + tag + d.key))}@dds.example"


# --------------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------------
def rim_list(*objs) -> E:
    return E("rim:RegistryObjectList", None, *objs)


def sor(objs, *, xdsb=False) -> E:
    a = {} if xdsb else {"xmlns:lcm": NS_LCM, "xmlns:rim": NS_RIM}
    return E("lcm:SubmitObjectsRequest", a, rim_list(*objs))


def pnr(objs, docs) -> E:
    """docs: [(symbolic id, Doc, 'inline'|'mtom')]"""
    body = E("xdsb:ProvideAndRegisterDocumentSetRequest",
             {"xmlns:xdsb": NS_XDSB, "xmlns:lcm": NS_LCM, "xmlns:rim": NS_RIM}, sor(objs, xdsb=True))
    for sym, d, how in docs:
        if how == "inline":
            body.add(E("xdsb:Document", {"id": sym}, text=base64.b64encode(d.content).decode()))
        else:
            body.add(E("xdsb:Document", {"id": sym},
                       E("xop:Include", {"xmlns:xop": NS_XOP, "href": "cid:" + doc_cid(d, "doc")})))
    return body


SS_EKKO = SubSet("p2-ekko", P2, AUH, DR_HOLT, "20261202073015", "Aftale fra Aarhus Universitetshospital")
SS_P1 = SubSet("p1-kol", P1, OUH, DR_LUND, "20261201095500", "Aftaler og information, KOL-kontrol")
SS_KNOGLE = SubSet("p3-knogle", P3, RH, DR_STORM, "20261203120010", "Aftale fra Rigshospitalet")
SS_KNOGLE2 = SubSet("p3-knogle-v2", P3, RH, DR_STORM, "20261207101000", "Ny tid, Rigshospitalet")
SS_UPD = SubSet("p1-kol-update", P1, OUH, DR_LUND, "20261208091000", "Opdatering af metadata")
SS_STATUS = SubSet("p2-ekko-status", P2, AUH, DR_HOLT, "20261209140000", "Aflysning, Aarhus Universitetshospital")


def single_objs(ss: SubSet, d: Doc, mode="submit"):
    return [*submission_set(ss, mode), doc_entry(d, mode),
            assoc("Assoc01", HAS_MEMBER, "SubmissionSet01", "Document01", ss_status())]


def folder_objs(mode="submit"):
    docs = [("Document01", D_KOL), ("Document02", D_SPIRO), ("Document03", D_NOTE)]
    objs = [*submission_set(SS_P1, mode), *folder(mode)]
    objs += [doc_entry(d, mode, sym) for sym, d in docs]
    objs.append(assoc("Assoc-SS-Folder", HAS_MEMBER, "SubmissionSet01", "Folder01", ss_status()))
    for i, (sym, _) in enumerate(docs, 1):
        objs.append(assoc(f"Assoc-SS-Doc{i:02d}", HAS_MEMBER, "SubmissionSet01", sym, ss_status()))
    for i, (sym, _) in enumerate(docs, 1):
        objs.append(assoc(f"Assoc-Folder-Doc{i:02d}", HAS_MEMBER, "Folder01", sym))
    for i, _ in enumerate(docs, 1):
        objs.append(assoc(f"Assoc-SS-FolderDoc{i:02d}", HAS_MEMBER, "SubmissionSet01", f"Assoc-Folder-Doc{i:02d}"))
    return objs, docs


# Stored (registry-assigned) association ids of the folder submission, used by queries and ITI-62.
def stored_assoc_id(name_: str) -> str:
    return u("assoc:" + name_)


def stored_folder_assocs():
    """The associations of the folder submission as the registry stores them."""
    ss = SS_P1.entry_uuid
    docs = [D_KOL, D_SPIRO, D_NOTE]
    out = [assoc(stored_assoc_id("ss-folder"), HAS_MEMBER, ss, FOLDER_UUID, ss_status(), status=APPROVED)]
    for i, d in enumerate(docs, 1):
        out.append(assoc(stored_assoc_id(f"ss-doc{i}"), HAS_MEMBER, ss, d.entry_uuid, ss_status(), status=APPROVED))
    for i, d in enumerate(docs, 1):
        out.append(assoc(stored_assoc_id(f"folder-doc{i}"), HAS_MEMBER, FOLDER_UUID, d.entry_uuid, status=APPROVED))
    for i, _ in enumerate(docs, 1):
        out.append(assoc(stored_assoc_id(f"ss-folderdoc{i}"), HAS_MEMBER, ss, stored_assoc_id(f"folder-doc{i}"),
                         status=APPROVED))
    return out


def gen_documents():
    for d in ALL_DOCS:
        d.content = (NOTE_TEXT if d.mime == "text/plain" else cda(d)).encode("utf-8")
        write("documents/" + d.file, d.content)


def gen_iti41():
    # single APD, inline base64
    env = request(A_PNR, pnr(single_objs(SS_EKKO, D_EKKO), [("Document01", D_EKKO, "inline")]),
                  "iti41-single", REPOSITORY_URL)
    write("iti-41/pnr-single-apd.xml", xml_doc(env))
    write("iti-41/pnr-single-apd.response.xml", xml_doc(response(A_PNR_R, registry_response(), "iti41-single")))
    write("iti-41/pnr-single-apd.response-failure.xml", xml_doc(response(A_PNR_R, registry_response(FAILURE, [
        ("XDSDuplicateUniqueIdInRegistry",
         f"DocumentEntry.uniqueId {D_EKKO.unique_id} is already registered with different content",
         "Document01", SEV_ERROR)]), "iti41-single")))
    # same, MTOM/XOP
    env = request(A_PNR, pnr(single_objs(SS_EKKO, D_EKKO), [("Document01", D_EKKO, "mtom")]),
                  "iti41-single-mtom", REPOSITORY_URL)
    write_mtom("iti-41/pnr-single-apd-mtom", env, [(doc_cid(D_EKKO, "doc"), "text/xml", D_EKKO.content)],
               A_PNR, "MIMEBoundary_dds_7a1c0e5b2f4d4a1e9c3b", "root.message@dds.example")
    write("iti-41/pnr-single-apd-mtom.response.xml",
          xml_doc(response(A_PNR_R, registry_response(), "iti41-single-mtom")))
    # three documents with a folder
    objs, docs = folder_objs()
    env = request(A_PNR, pnr(objs, [(s, d, "inline") for s, d in docs]), "iti41-folder", REPOSITORY_URL)
    write("iti-41/pnr-folder-three-docs.xml", xml_doc(env))
    write("iti-41/pnr-folder-three-docs.response.xml",
          xml_doc(response(A_PNR_R, registry_response(), "iti41-folder")))
    # replacement (RPLC) of the document registered by iti-42/register-apd.xml
    objs = single_objs(SS_KNOGLE2, D_KNOGLE2)
    objs.append(assoc("Assoc02", RPLC, "Document01", D_KNOGLE.entry_uuid))
    env = request(A_PNR, pnr(objs, [("Document01", D_KNOGLE2, "inline")]), "iti41-rplc", REPOSITORY_URL)
    write("iti-41/pnr-replace-rplc.xml", xml_doc(env))
    write("iti-41/pnr-replace-rplc.response.xml", xml_doc(response(A_PNR_R, registry_response(), "iti41-rplc")))


def gen_iti42():
    env = request(A_REG, sor(single_objs(SS_KNOGLE, D_KNOGLE, "register")), "iti42-register", REGISTRY_URL)
    write("iti-42/register-apd.xml", xml_doc(env))
    write("iti-42/register-apd.response.xml", xml_doc(response(A_REG_R, registry_response(), "iti42-register")))
    write("iti-42/register-apd.response-failure.xml", xml_doc(response(A_REG_R, registry_response(FAILURE, [
        ("XDSUnknownPatientId", f"Patient {pid(P3.cpr)} is not known to the registry", "Document01", SEV_ERROR)]),
        "iti42-register")))


# --- ITI-18 ----------------------------------------------------------------------------------
def q(s: str) -> str:
    return f"'{s}'"


def ql(*vals: str) -> str:
    return "(" + ",".join(q(v) for v in vals) + ")"


def adhoc(query_name: str, params: list, return_type="LeafClass") -> E:
    aq = E("rim:AdhocQuery", {"id": SQ[query_name]})
    for pname, *vals in params:
        aq.add(slot(pname, *vals))
    return E("query:AdhocQueryRequest", {"xmlns:query": NS_QUERY, "xmlns:rim": NS_RIM},
             E("query:ResponseOption", {"returnComposedObjects": "true", "returnType": return_type}), aq)


def query_response(objs, status=SUCCESS, errors=None) -> E:
    r = E("query:AdhocQueryResponse", {"xmlns:query": NS_QUERY, "xmlns:rim": NS_RIM, "xmlns:rs": NS_RS,
                                       "status": status})
    if errors:
        r.add(error_list(errors))
    r.add(rim_list(*objs))
    return r


CLASS_P = ("$XDSDocumentEntryClassCode", ql(f"001^^{CLASS_SYS}"))
STATUS_P = ("$XDSDocumentEntryStatus", ql(APPROVED))

QUERIES = {
    # file name: (query, params, returnType)
    "find-documents-leafclass": ("FindDocuments", [
        ("$XDSDocumentEntryPatientId", q(pid(P1.cpr))),
        CLASS_P,
        ("$XDSDocumentEntryTypeCode", ql(f"{TYPE_APD[0]}^^{LOINC}", f"56446-8^^{LOINC}")),
        ("$XDSDocumentEntryServiceStartTimeFrom", "20270101000000"),
        ("$XDSDocumentEntryServiceStartTimeTo", "20270201000000"),
        STATUS_P], "LeafClass"),
    "find-documents-objectref": ("FindDocuments", [
        ("$XDSDocumentEntryPatientId", q(pid(P2.cpr))),
        ("$XDSDocumentEntryStatus", ql(APPROVED, DEPRECATED))], "ObjectRef"),
    "get-documents-by-uniqueid": ("GetDocuments", [
        ("$XDSDocumentEntryUniqueId", ql(D_KOL.unique_id, D_SPIRO.unique_id)),
        ("$homeCommunityId", q(HOME))], "LeafClass"),
    "get-submission-set-and-contents": ("GetSubmissionSetAndContents", [
        ("$XDSSubmissionSetUniqueId", q(SS_P1.unique_id))], "LeafClass"),
    "get-associations": ("GetAssociations", [
        ("$uuid", ql(D_KOL.entry_uuid))], "LeafClass"),
    "get-folder-and-contents": ("GetFolderAndContents", [
        ("$XDSFolderEntryUUID", q(FOLDER_UUID)),
        ("$XDSDocumentEntryFormatCode", ql(f"{APD_FORMAT}^^{FORMAT_SYS}"))], "LeafClass"),
    "get-related-documents": ("GetRelatedDocuments", [
        ("$XDSDocumentEntryUniqueId", q(D_KNOGLE2.unique_id)),
        ("$AssociationTypes", ql(RPLC, "urn:ihe:iti:2007:AssociationType:APND",
                                 "urn:ihe:iti:2007:AssociationType:XFRM",
                                 "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"))], "LeafClass"),
    "find-documents-by-reference-id": ("FindDocumentsByReferenceId", [
        ("$XDSDocumentEntryPatientId", q(pid(P1.cpr))),
        ("$XDSDocumentEntryReferenceIdList", ql(D_KOL.reference_ids[0])),
        STATUS_P], "LeafClass"),
    "find-submission-sets": ("FindSubmissionSets", [
        ("$XDSSubmissionSetPatientId", q(pid(P1.cpr))),
        ("$XDSSubmissionSetSubmissionTimeFrom", "20261201000000"),
        ("$XDSSubmissionSetSubmissionTimeTo", "20261215000000"),
        ("$XDSSubmissionSetStatus", ql(APPROVED))], "LeafClass"),
    "find-folders": ("FindFolders", [
        ("$XDSFolderPatientId", q(pid(P1.cpr))),
        ("$XDSFolderCodeList", ql(f"ALAL21^^{SKS}")),
        ("$XDSFolderStatus", ql(APPROVED))], "LeafClass"),
    "get-all": ("GetAll", [
        ("$patientId", q(pid(P1.cpr))),
        ("$XDSDocumentEntryStatus", ql(APPROVED, DEPRECATED)),
        ("$XDSSubmissionSetStatus", ql(APPROVED)),
        ("$XDSFolderStatus", ql(APPROVED))], "LeafClass"),
    "get-folders": ("GetFolders", [
        ("$XDSFolderUniqueId", ql(FOLDER_UID))], "LeafClass"),
    "get-submission-sets": ("GetSubmissionSets", [
        ("$uuid", ql(D_KOL.entry_uuid, D_SPIRO.entry_uuid))], "LeafClass"),
    "get-documents-and-associations": ("GetDocumentsAndAssociations", [
        ("$XDSDocumentEntryEntryUUID", ql(D_NOTE.entry_uuid))], "LeafClass"),
    "get-folders-for-document": ("GetFoldersForDocument", [
        ("$XDSDocumentEntryUniqueId", q(D_EKKO.unique_id))], "LeafClass"),
    "find-documents-by-text": ("FindDocumentsByText", [
        ("$XDSDocumentEntryPatientId", q(pid(P1.cpr))),
        ("$DdsText", q("spirometri")),
        STATUS_P], "LeafClass"),
}


def gen_iti18():
    for fname, (qn, params, rt) in QUERIES.items():
        write(f"iti-18/{fname}.xml", xml_doc(request(A_SQ, adhoc(qn, params, rt), "iti18-" + fname, REGISTRY_URL)))
    R = lambda body, req: xml_doc(response(A_SQ_R, body, "iti18-" + req))  # noqa: E731
    write("iti-18/find-documents-leafclass.response.xml",
          R(query_response([doc_entry(D_KOL, "stored"), doc_entry(D_SPIRO, "stored")]), "find-documents-leafclass"))
    write("iti-18/find-documents-leafclass.response-consent-filtered.xml", R(query_response(
        [doc_entry(D_KOL, "stored")], errors=[
            ("DDSConsentFiltered", "1 DocumentEntry was withheld from the result by the citizen's consent "
                                   "(Min Spærring: data-specific block)", None, SEV_WARNING)]), "find-documents-leafclass"))
    write("iti-18/find-documents-objectref.response.xml", R(query_response(
        [E("rim:ObjectRef", {"id": D_EKKO.entry_uuid, "home": HOME})]), "find-documents-objectref"))
    write("iti-18/get-folders-for-document.response.xml", R(query_response([]), "get-folders-for-document"))
    # GetSubmissionSetAndContents: SS, folder, documents and all associations
    write("iti-18/get-submission-set-and-contents.response.xml", R(query_response(
        [*submission_set(SS_P1, "stored"), *folder("stored"),
         doc_entry(D_KOL, "stored"), doc_entry(D_SPIRO, "stored"), doc_entry(D_NOTE, "stored"),
         *stored_folder_assocs()]), "get-submission-set-and-contents"))
    # GetRelatedDocuments: the replacement, the deprecated original and the RPLC association
    write("iti-18/get-related-documents.response.xml", R(query_response(
        [doc_entry(D_KNOGLE2, "stored", lid=D_KNOGLE2.entry_uuid), doc_entry(D_KNOGLE, "stored"),
         assoc(stored_assoc_id("rplc-knogle"), RPLC, D_KNOGLE2.entry_uuid, D_KNOGLE.entry_uuid, status=APPROVED)]),
        "get-related-documents"))
    # failure: required parameter missing (request is samples/invalid/iti18-missing-patientid.xml)
    write("iti-18/find-documents-missing-patientid.response-failure.xml", xml_doc(response(A_SQ_R, query_response(
        [], FAILURE, [("XDSStoredQueryMissingParam",
                       "Required parameter $XDSDocumentEntryPatientId is missing from FindDocuments",
                       SQ["FindDocuments"], SEV_ERROR)]), "invalid-iti18-missing-patientid")))


# --- ITI-43 ----------------------------------------------------------------------------------
def retrieve_req(items) -> E:
    r = E("xdsb:RetrieveDocumentSetRequest", {"xmlns:xdsb": NS_XDSB})
    for uid in items:
        r.add(E("xdsb:DocumentRequest", None,
                E("xdsb:HomeCommunityId", None, text=HOME),
                E("xdsb:RepositoryUniqueId", None, text=REPO_UID),
                E("xdsb:DocumentUniqueId", None, text=uid)))
    return r


def retrieve_resp(docs, how, status=SUCCESS, errors=None) -> E:
    r = E("xdsb:RetrieveDocumentSetResponse", {"xmlns:xdsb": NS_XDSB, "xmlns:rs": NS_RS},
          registry_response(status, errors))
    r.children[0].attrs.pop("xmlns:rs")
    for d in docs:
        if how == "inline":
            doc_el = E("xdsb:Document", None, text=base64.b64encode(d.content).decode())
        else:
            doc_el = E("xdsb:Document", None, E("xop:Include", {"xmlns:xop": NS_XOP,
                                                               "href": "cid:" + doc_cid(d, "ret")}))
        r.add(E("xdsb:DocumentResponse", None,
                E("xdsb:HomeCommunityId", None, text=HOME),
                E("xdsb:RepositoryUniqueId", None, text=REPO_UID),
                E("xdsb:DocumentUniqueId", None, text=d.unique_id),
                E("xdsb:mimeType", None, text=d.mime), doc_el))
    return r


UNKNOWN_UID = oid("doc:does-not-exist")


def gen_iti43():
    write("iti-43/retrieve-two-documents.xml",
          xml_doc(request(A_RET, retrieve_req([D_KOL.unique_id, D_SPIRO.unique_id]), "iti43-two", REPOSITORY_URL)))
    write("iti-43/retrieve-two-documents.response.xml",
          xml_doc(response(A_RET_R, retrieve_resp([D_KOL, D_SPIRO], "inline"), "iti43-two")))
    env = response(A_RET_R, retrieve_resp([D_KOL, D_SPIRO], "mtom"), "iti43-two")
    write_mtom("iti-43/retrieve-two-documents.response-mtom", env,
               [(doc_cid(D_KOL, "ret"), "text/xml", D_KOL.content), (doc_cid(D_SPIRO, "ret"), "text/xml", D_SPIRO.content)],
               A_RET_R, "MIMEBoundary_dds_3e9f2c71d8a04b6f8e21", "root.message@dds.example")
    write("iti-43/retrieve-one-unknown.xml",
          xml_doc(request(A_RET, retrieve_req([D_KOL.unique_id, UNKNOWN_UID]), "iti43-unknown", REPOSITORY_URL)))
    write("iti-43/retrieve-one-unknown.response-partial.xml", xml_doc(response(A_RET_R, retrieve_resp(
        [D_KOL], "inline", PARTIAL,
        [("XDSDocumentUniqueIdError", f"Document {UNKNOWN_UID} is not in repository {REPO_UID}", UNKNOWN_UID,
          SEV_ERROR)]), "iti43-unknown")))
    write("iti-43/retrieve-blocked.xml",
          xml_doc(request(A_RET, retrieve_req([D_EKKO.unique_id]), "iti43-blocked", REPOSITORY_URL)))
    write("iti-43/retrieve-blocked.response-failure.xml", xml_doc(response(A_RET_R, retrieve_resp(
        [], "inline", FAILURE,
        [("DDSConsentBlocked", "The citizen's consent withholds this document from the requesting user",
          D_EKKO.unique_id, SEV_ERROR)]), "iti43-blocked")))


# --- ITI-51 ----------------------------------------------------------------------------------
def gen_iti51():
    body = adhoc("FindDocumentsForMultiplePatients", [
        ("$XDSDocumentEntryPatientId", ql(pid(P1.cpr), pid(P2.cpr))),
        CLASS_P,
        ("$XDSDocumentEntryServiceStartTimeFrom", "20270112080000"),
        ("$XDSDocumentEntryServiceStartTimeTo", "20270201000000"),
        STATUS_P])
    write("iti-51/find-documents-multi-patient.xml", xml_doc(request(A_MPQ, body, "iti51", REGISTRY_URL)))
    write("iti-51/find-documents-multi-patient.response.xml", xml_doc(response(A_MPQ_R, query_response(
        [doc_entry(D_KOL, "stored"), doc_entry(D_EKKO, "stored")]), "iti51")))


# --- ITI-57 ----------------------------------------------------------------------------------
def gen_iti57():
    new_eid = u("entry:apd-p1-kol:v2")
    D_KOL.comments = "Opdateret: patienten ønsker tolk (polsk) ved kontrollen"
    de = doc_entry(D_KOL, "update", eid=new_eid, lid=D_KOL.entry_uuid)
    D_KOL.comments = ""
    ss = submission_set(SS_UPD, "uuid")
    objs = [*ss, de, assoc(u("assoc:update-kol"), HAS_MEMBER, SS_UPD.entry_uuid, new_eid,
                           ss_status(), slot("PreviousVersion", "1"))]
    write("iti-57/update-document-metadata.xml",
          xml_doc(request(A_UPD, sor(objs), "iti57-metadata", REGISTRY_URL)))
    write("iti-57/update-document-metadata.response.xml",
          xml_doc(response(A_UPD_R, registry_response(), "iti57-metadata")))
    objs = [*submission_set(SS_STATUS, "uuid"),
            assoc(u("assoc:status-ekko"), UPDATE_STATUS, SS_STATUS.entry_uuid, D_EKKO.entry_uuid,
                  slot("OriginalStatus", APPROVED), slot("NewStatus", DEPRECATED))]
    write("iti-57/update-availability-status.xml",
          xml_doc(request(A_UPD, sor(objs), "iti57-status", REGISTRY_URL)))
    write("iti-57/update-availability-status.response.xml",
          xml_doc(response(A_UPD_R, registry_response(), "iti57-status")))


# --- ITI-62 ----------------------------------------------------------------------------------
def gen_iti62():
    refs = [D_NOTE.entry_uuid, stored_assoc_id("ss-doc3"), stored_assoc_id("folder-doc3"),
            stored_assoc_id("ss-folderdoc3")]
    body = E("lcm:RemoveObjectsRequest", {"xmlns:lcm": NS_LCM, "xmlns:rim": NS_RIM},
             E("rim:ObjectRefList", None, *[E("rim:ObjectRef", {"id": r}) for r in refs]))
    write("iti-62/delete-document-entry.xml", xml_doc(request(A_DEL, body, "iti62", REGISTRY_URL)))
    write("iti-62/delete-document-entry.response.xml", xml_doc(response(A_DEL_R, registry_response(), "iti62")))


# --- headers -----------------------------------------------------------------------------------
MEDCOM = "http://www.medcom.dk/dgws/2006/04/dgws-1.0.xsd"
SOSI = "http://www.sosi.dk/sosi/2006/04/sosi-1.0.xsd"
HSUID = "http://www.nsi.dk/hsuid/2016/08/hsuid-1.1.xsd"


def saml_attr(name_, value, fmt=None):
    a = {"Name": name_}
    if fmt:
        a["NameFormat"] = fmt
    return E("saml:Attribute", a, E("saml:AttributeValue", None, text=value))


def idcard_security() -> E:
    assertion = E("saml:Assertion", {"IssueInstant": "2026-12-10T07:55:00Z", "Version": "2.0", "id": "IDCard"},
                  E("saml:Issuer", None, text="TEST1-NSP-STS"),
                  E("saml:Subject", None,
                    E("saml:NameID", {"Format": "medcom:cprnumber"}, text="0804569723"),
                    E("saml:SubjectConfirmation", None,
                      E("saml:ConfirmationMethod", None, text="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"),
                      E("saml:SubjectConfirmationData", None,
                        E("ds:KeyInfo", None, E("ds:KeyName", None, text="OCESSignature"))))),
                  E("saml:Conditions", {"NotBefore": "2026-12-10T07:55:00Z", "NotOnOrAfter": "2026-12-11T07:55:00Z"}),
                  E("saml:AttributeStatement", {"id": "IDCardData"},
                    saml_attr("sosi:IDCardID", "r2Vx1kq9TCe0b8mWq3Jd4A=="),
                    saml_attr("sosi:IDCardVersion", "1.0.1"),
                    saml_attr("sosi:IDCardType", "user"),
                    saml_attr("sosi:AuthenticationLevel", "4"),
                    saml_attr("sosi:OCESCertHash", "ILLUSTRATIVE0000000000000000=")),
                  E("saml:AttributeStatement", {"id": "UserLog"},
                    saml_attr("medcom:UserCivilRegistrationNumber", "0804569723"),
                    saml_attr("medcom:UserGivenName", "Hanne"),
                    saml_attr("medcom:UserSurName", "Friis"),
                    saml_attr("medcom:UserEmailAddress", "hanne.friis@aarhus.example"),
                    saml_attr("medcom:UserRole", "7170"),
                    saml_attr("medcom:UserOccupation", "Sygeplejerske"),
                    saml_attr("medcom:UserAuthorizationCode", "4JQ7N")),
                  E("saml:AttributeStatement", {"id": "SystemLog"},
                    saml_attr("medcom:ITSystemName", "Kommunal EOJ (test)"),
                    saml_attr("medcom:CareProviderID", "29189994", "medcom:cvrnumber"),
                    saml_attr("medcom:CareProviderName", "Aarhus Kommune, Sundhed og Omsorg")),
                  Raw("<!-- ILLUSTRATIVE ONLY: a real card ends with <ds:Signature id=\"OCESSignature\"> "
                      "(enveloped, exc-c14n, Reference URI=\"#IDCard\")\n     as the last child of the assertion. "
                      "This one is unsigned and will be rejected; tests inject a freshly signed card. -->"))
    return E("wsse:Security", {"xmlns:wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
                               "xmlns:wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
                               "xmlns:saml": "urn:oasis:names:tc:SAML:2.0:assertion",
                               "xmlns:ds": "http://www.w3.org/2000/09/xmldsig#",
                               "xmlns:sosi": SOSI, "xmlns:medcom": MEDCOM},
             E("wsu:Timestamp", None, E("wsu:Created", None, text="2026-12-10T08:00:00Z")), assertion)


def medcom_header() -> E:
    return E("medcom:Header", {"xmlns:medcom": MEDCOM},
             E("medcom:SecurityLevel", None, text="4"),
             E("medcom:TimeOut", None, text="1440"),
             E("medcom:Linking", None, E("medcom:MessageID", None, text="q3dT0b7cR9KQm1hW2xYvNg==")),
             E("medcom:FlowStatus", None, text="flow_running"),
             E("medcom:Priority", None, text="RUTINE"),
             E("medcom:RequireNonRepudiationReceipt", None, text="no"))


def hsuid_header(patient: Patient) -> E:
    h = "hsuid"
    return E(f"{h}:HsuidHeader", {"xmlns:hsuid": HSUID},
             E(f"{h}:Assertion", {"IssueInstant": "2026-12-10T08:00:00Z", "id": "HSUID"},
               E(f"{h}:Issuer", None, text="Kommunal EOJ (test)"),
               E(f"{h}:AttributeStatement", {"id": "HSUIDdata"},
                 *[E(f"{h}:Attribute", {"Name": n, **({"NameFormat": f} if f else {})},
                     E(f"{h}:AttributeValue", None, text=v)) for n, v, f in [
                     ("nsi:UserType", "nsi:HealthcareProfessional", None),
                     ("nsi:ActingUserCivilRegistrationNumber", "0804569723", None),
                     ("nsi:ResponsibleUserCivilRegistrationNumber", "0804569723", None),
                     ("nsi:ResponsibleUserAuthorizationCode", "4JQ7N", None),
                     ("nsi:OrgUsingID", "614321000016007", "nsi:sor"),
                     ("nsi:SystemOwnerName", "Aarhus Kommune", None),
                     ("nsi:SystemName", "Kommunal EOJ (test)", None),
                     ("nsi:SystemVersion", "4.2", None),
                     ("nsi:OrgResponsibleName", "Aarhus Kommune, Sundhed og Omsorg", None),
                     ("nsi:CitizenCivilRegistrationNumber", patient.cpr, None),
                     ("nsi:ConsentOverride", "true", None)]])))


def gen_headers():
    qn, params, rt = QUERIES["find-documents-leafclass"]
    env = request(A_SQ, adhoc(qn, params, rt), "headers-idcard", REGISTRY_URL,
                  extra_headers=[idcard_security(), medcom_header()],
                  comment="ILLUSTRATIVE: DGWS-shaped ID card layout. Unsigned - not accepted by a server.")
    write("headers/idcard-header-example.xml", xml_doc(env))
    env = request(A_RET, retrieve_req([D_EKKO.unique_id]), "headers-hsuid", REPOSITORY_URL,
                  extra_headers=[hsuid_header(P2)],
                  comment="Override (vaerdispring) via the HSUID header Danish clients send; "
                          "wsse:Security omitted, tests inject a signed ID card.")
    write("headers/hsuid-consent-override-example.xml", xml_doc(env))
    qn, params, rt = QUERIES["find-documents-objectref"]
    env = request(A_SQ, adhoc(qn, params, "LeafClass"), "headers-dds-override", REGISTRY_URL,
                  extra_headers=[E("dds:ConsentOverride", {"xmlns:dds": "urn:dds:2026"},
                                   E("dds:Reason", None, text="Akut indlæggelse, patienten er bevidstløs; "
                                                             "behov for oplysninger om hjertesygdom"))],
                  comment="Override (vaerdispring) via our own header; wsse:Security omitted, "
                          "tests inject a signed ID card.")
    write("headers/dds-consent-override-example.xml", xml_doc(env))


# --- invalid messages ---------------------------------------------------------------------------
def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(items: list) -> str:
    return "[" + ", ".join(toml_str(i) for i in items) + "]"


def write_invalid(name_: str, content: str, description_: str, codes: list, attribute: str | None = None,
                  parse_error: bool = False, severity: str | None = None, *, rules: list):
    """Write invalid/NAME.xml and NAME.expected.toml (format: samples/README.md, "Invalid messages").

    `rules` are the ids of the xds-validate rules that fire on the message (xds-validate's
    tests/samples.rs checks them); empty when the finding comes from another component (hash
    comparison, registry look-ups) or the message does not parse.
    """
    assert not (parse_error and (codes or rules)), "a parse error has no error codes and no rules"
    assert severity in (None, "warning"), severity
    write(f"invalid/{name_}.xml", content)
    lines = [f"description = {toml_str(description_)}",
             f"error_codes = {toml_list(codes)}"]
    if attribute:
        lines.append(f"attribute = {toml_str(attribute)}")
    lines.append(f"parse_error = {'true' if parse_error else 'false'}")
    if severity:
        lines.append(f"severity = {toml_str(severity)}")
    lines.append(f"rules = {toml_list(rules)}")
    write(f"invalid/{name_}.expected.toml", "\n".join(lines) + "\n")


def base41(tag: str, objs_fn=None, docs=None) -> E:
    objs = objs_fn() if objs_fn else single_objs(SS_EKKO, D_EKKO)
    docs = docs if docs is not None else [("Document01", D_EKKO, "inline")]
    return request(A_PNR, pnr(objs, docs), "invalid-" + tag, REPOSITORY_URL)


def base42(tag: str) -> E:
    return request(A_REG, sor(single_objs(SS_KNOGLE, D_KNOGLE, "register")), "invalid-" + tag, REGISTRY_URL)


def slot_value(root: E, owner_id: str, slot_name: str) -> E:
    owner = root.find_id(owner_id)
    for c in owner.children:
        if isinstance(c, E) and c.tag == "rim:Slot" and c.attrs["name"] == slot_name:
            return c.children[0].children[0]
    raise KeyError(slot_name)


MD = "XDSRegistryMetadataError"


def gen_invalid():
    # 1 missing patientId
    env = base41("missing-patientid")
    env.remove(lambda n: n.attrs.get("id") == "Document01-patientId")
    write_invalid("iti41-missing-patientid", xml_doc(env),
                  "The DocumentEntry has no patientId ExternalIdentifier (urn:uuid:58a6f841-...)", [MD], "patientId",
                  rules=["DE-PATIENTID-REQUIRED"])
    # 2 wrong assigning authority (DocumentEntry and SubmissionSet agree, both wrong)
    env = base41("patientid-wrong-authority")
    wrong = f"{P2.cpr}^^^&1.2.208.176.1.1&ISO"
    for i in ("Document01-patientId", "SubmissionSet01-patientId"):
        env.find_id(i).attrs["value"] = wrong
    write_invalid("iti41-patientid-wrong-authority", xml_doc(env),
                  "patientId uses assigning authority 1.2.208.176.1.1 (SOR) instead of the CPR OID 1.2.208.176.1.2 "
                  "(DocumentEntry and SubmissionSet agree, sourcePatientId is correct)", [MD], "patientId",
                  rules=["DK-PATIENTID-AUTHORITY"])
    # 3 DocumentEntry patientId differs from SubmissionSet
    env = base41("patientid-mismatch")
    env.find_id("Document01-patientId").attrs["value"] = pid(P1.cpr)
    write_invalid("iti41-patientid-mismatch", xml_doc(env),
                  f"DocumentEntry.patientId is {P1.cpr} but SubmissionSet.patientId is {P2.cpr}",
                  ["XDSPatientIdDoesNotMatch"], "patientId", rules=["SUB-PATIENTID-MATCH"])
    # 4 missing classCode
    env = base41("missing-classcode")
    env.remove(lambda n: n.attrs.get("id") == "Document01-classCode")
    write_invalid("iti41-missing-classcode", xml_doc(env), "The DocumentEntry has no classCode classification",
                  [MD], "classCode", rules=["DE-CLASSCODE-REQUIRED"])
    # 5 classCode other than 001
    env = base41("classcode-not-001")
    c = env.find_id("Document01-classCode")
    c.attrs["nodeRepresentation"] = "11488-4"
    c.children[0] = slot("codingScheme", LOINC)
    c.children[1] = name("Consult note")
    write_invalid("iti41-classcode-not-dk", xml_doc(env),
                  "classCode is LOINC 11488-4; the DK profile allows only 001 in 1.2.208.184.100.9", [MD], "classCode",
                  rules=["DK-CLASSCODE-VALUE"])
    # 6 wrong formatCode
    env = base42("formatcode-wrong")
    c = env.find_id("Document01-formatCode")
    c.attrs["nodeRepresentation"] = "urn:ihe:pcc:xphr:2007"
    c.children[0] = slot("codingScheme", IHE_FORMAT_SYS)
    c.children[1] = name("Exchange of Personal Health Records")
    write_invalid("iti42-formatcode-not-dk", xml_doc(env),
                  "formatCode urn:ihe:pcc:xphr:2007 is not a DK format code for a DK APD document "
                  f"(expected {APD_FORMAT} in {FORMAT_SYS})", [MD], "formatCode", rules=["DK-FORMATCODE-SYSTEM"])
    # 7 confidentiality other than N
    env = base41("confidentiality-r")
    c = env.find_id("Document01-confidentialityCode")
    c.attrs["nodeRepresentation"] = "R"
    c.children[1] = name("Restricted")
    write_invalid("iti41-confidentiality-not-n", xml_doc(env),
                  "confidentialityCode is R; the DK profile allows only N", [MD], "confidentialityCode",
                  rules=["DK-CONFIDENTIALITY-VALUE"])
    # 8 missing creationTime
    env = base41("missing-creationtime")
    env.remove(lambda n: n.tag == "rim:Slot" and n.attrs.get("name") == "creationTime")
    write_invalid("iti41-missing-creationtime", xml_doc(env), "The DocumentEntry has no creationTime slot",
                  [MD], "creationTime", rules=["DE-CREATIONTIME-REQUIRED"])
    # 9 malformed creationTime
    env = base41("malformed-creationtime")
    slot_value(env, "Document01", "creationTime").text = "2026-12-02T07:20:00Z"
    write_invalid("iti41-malformed-creationtime", xml_doc(env),
                  "creationTime is ISO 8601 (2026-12-02T07:20:00Z) instead of HL7 DTM YYYYMMDDhhmmss", [MD],
                  "creationTime", rules=["FMT-DTM"])
    # 10 missing uniqueId
    env = base41("missing-uniqueid")
    env.remove(lambda n: n.attrs.get("id") == "Document01-uniqueId")
    write_invalid("iti41-missing-uniqueid", xml_doc(env),
                  "The DocumentEntry has no uniqueId ExternalIdentifier (urn:uuid:2e82c1f6-...)", [MD], "uniqueId",
                  rules=["DE-UNIQUEID-REQUIRED"])
    # 11 duplicate uniqueIds within one submission
    objs, docs = folder_objs()
    env = request(A_PNR, pnr(objs, [(s, d, "inline") for s, d in docs]), "invalid-duplicate-uniqueid", REPOSITORY_URL)
    env.find_id("Document02-uniqueId").attrs["value"] = D_KOL.unique_id
    # The warnings DK-TYPECODE-KNOWN and DK-MIMETYPE-VALUE come from the text/plain note, as in the valid
    # iti-41/pnr-folder-three-docs.xml this sample is built from; only SUB-UNIQUEID-DUPLICATE rejects.
    write_invalid("iti41-duplicate-uniqueid-in-submission", xml_doc(env),
                  "Document01 and Document02 carry the same uniqueId in one submission",
                  ["XDSRegistryDuplicateUniqueIdInMessage"], "uniqueId",
                  rules=["SUB-UNIQUEID-DUPLICATE", "DK-TYPECODE-KNOWN", "DK-MIMETYPE-VALUE"])
    # 12 missing SubmissionSet
    env = base42("missing-submissionset")
    env.remove(lambda n: n.attrs.get("id") in ("SubmissionSet01", "SubmissionSet01-ssNode", "Assoc01"))
    write_invalid("iti42-missing-submissionset", xml_doc(env),
                  "No RegistryPackage classified as SubmissionSet (and hence no HasMember) in the submission", [MD],
                  "SubmissionSet", rules=["SUB-SUBMISSIONSET-COUNT"])
    # 13 HasMember to an unknown object
    env = base41("hasmember-unknown")
    lst = env.find_all(lambda n: n.tag == "rim:RegistryObjectList")[0]
    lst.add(assoc("Assoc02", HAS_MEMBER, "SubmissionSet01", u("entry:never-registered"), ss_status("Reference")))
    write_invalid("iti41-hasmember-unknown-target", xml_doc(env),
                  "An extra HasMember association points at a urn:uuid that is neither in the submission nor in the "
                  "registry", ["UnresolvedReferenceException"], "targetObject", rules=[])
    # 14 document missing from ITI-41
    env = base41("missing-document", docs=[])
    write_invalid("iti41-missing-document", xml_doc(env),
                  "The metadata describe Document01 but no xdsb:Document with id Document01 is attached",
                  ["XDSMissingDocument"], rules=["SUB-DOCUMENT-MISSING"])
    # 15 document without metadata
    env = base41("document-without-metadata", docs=[("Document01", D_EKKO, "inline"), ("Document02", D_KOL, "inline")])
    write_invalid("iti41-document-without-metadata", xml_doc(env),
                  "xdsb:Document Document02 is attached but no DocumentEntry with id Document02 exists",
                  ["XDSMissingDocumentMetadata"], rules=["SUB-DOCUMENT-METADATA-MISSING"])
    # 16 languageCode not Danish (warning)
    env = base41("language-en")
    slot_value(env, "Document01", "languageCode").text = "en-US"
    write_invalid("iti41-languagecode-not-danish", xml_doc(env),
                  "languageCode is en-US; the DK profile expects da-DK (or da). A WARNING only: the submission is "
                  "accepted (status Success) and the response carries a Warning RegistryError", [MD], "languageCode",
                  severity="warning", rules=["DK-LANGUAGECODE-VALUE"])
    # 17 ITI-18 without the required patient id
    qn, params, rt = QUERIES["find-documents-leafclass"]
    env = request(A_SQ, adhoc(qn, [p for p in params if p[0] != "$XDSDocumentEntryPatientId"], rt),
                  "invalid-iti18-missing-patientid", REGISTRY_URL)
    write_invalid("iti18-missing-patientid", xml_doc(env),
                  "FindDocuments without the required $XDSDocumentEntryPatientId parameter",
                  ["XDSStoredQueryMissingParam"], "$XDSDocumentEntryPatientId", rules=["Q-PARAM-REQUIRED"])
    # 18 unknown stored query id
    env = request(A_SQ, adhoc(qn, params, rt), "invalid-iti18-unknown-query", REGISTRY_URL)
    env.find_all(lambda n: n.tag == "rim:AdhocQuery")[0].attrs["id"] = "urn:uuid:00000000-1111-4222-8333-444444444444"
    write_invalid("iti18-unknown-query-id", xml_doc(env),
                  "AdhocQuery id urn:uuid:00000000-1111-4222-8333-444444444444 is not a known stored query",
                  ["XDSUnknownStoredQuery"], rules=["Q-UNKNOWN-QUERY"])
    # 19 DOCTYPE (entity expansion attempt)
    text = xml_doc(request(A_SQ, adhoc(qn, params, rt), "invalid-doctype", REGISTRY_URL))
    text = text.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE soap:Envelope [\n'
                        '  <!ENTITY lol "lol">\n  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n', 1)
    text = text.replace("urn:oasis:names:tc:ebxml-regrep:StatusType:Approved'", "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved&lol2;'", 1)
    write_invalid("iti18-doctype", text,
                  "The envelope carries a DOCTYPE with internal entities; any DOCTYPE must be rejected before parsing "
                  "(answered with a SOAP 1.2 Fault soap:Sender, no RegistryError)", [], parse_error=True, rules=[])
    # 20 malformed XML
    text = xml_doc(request(A_SQ, adhoc(qn, params, rt), "invalid-malformed", REGISTRY_URL))
    text = text.replace("</rim:AdhocQuery>", "", 1)
    write_invalid("iti18-malformed-xml", text,
                  "Not well-formed: the closing </rim:AdhocQuery> tag is missing "
                  "(answered with a SOAP 1.2 Fault soap:Sender, no RegistryError)", [], parse_error=True, rules=[])
    # 21 hash not a SHA-1 hex string
    env = base42("hash-malformed")
    slot_value(env, "Document01", "hash").text = D_KNOGLE.sha1[:-1] + "z"
    write_invalid("iti42-hash-malformed", xml_doc(env),
                  "hash is not 40 hexadecimal digits (last character is 'z')", [MD], "hash", rules=["FMT-HASH"])
    # 22 hash of the wrong length
    env = base42("hash-short")
    slot_value(env, "Document01", "hash").text = D_KNOGLE.sha1[:32]
    write_invalid("iti42-hash-wrong-length", xml_doc(env),
                  "hash has 32 hex digits (looks like MD5) instead of the 40 of SHA-1", [MD], "hash",
                  rules=["FMT-HASH"])
    # 23 mimeType missing
    env = base42("mimetype-missing")
    del env.find_id("Document01").attrs["mimeType"]
    write_invalid("iti42-mimetype-missing", xml_doc(env), "The ExtrinsicObject has no mimeType attribute", [MD],
                  "mimeType", rules=["DE-MIMETYPE-REQUIRED"])
    # 24 ITI-41 with a hash that does not match the attached document
    env = base41("hash-mismatch", objs_fn=lambda: [*submission_set(SS_EKKO, "submit"),
                                                    doc_entry(D_EKKO, "submit", with_hash=True),
                                                    assoc("Assoc01", HAS_MEMBER, "SubmissionSet01", "Document01",
                                                          ss_status())])
    slot_value(env, "Document01", "hash").text = D_KOL.sha1
    write_invalid("iti41-hash-mismatch", xml_doc(env),
                  "The submitted hash (of another document) differs from the SHA-1 of the attached document",
                  ["XDSRepositoryMetadataError"], "hash", rules=[])
    # 25 missing sourcePatientId? -> keep to the list above; 25: eventCodeList missing (DK requires one)
    env = base41("missing-eventcode")
    env.remove(lambda n: n.attrs.get("id") == "Document01-eventCode")
    write_invalid("iti41-missing-eventcode", xml_doc(env),
                  "The DocumentEntry has no eventCodeList entry; the DK profile requires one SKS code", [MD],
                  "eventCodeList", rules=["DK-EVENTCODE-REQUIRED"])


def main():
    gen_documents()
    gen_iti41()
    gen_iti42()
    gen_iti18()
    gen_iti43()
    gen_iti51()
    gen_iti57()
    gen_iti62()
    gen_headers()
    gen_invalid()


if __name__ == "__main__":
    main()
