//! Value formats of XDS metadata (ITI TF-3 4.2.3.1): DTM, OID, UUID, CX, XCN, XON and friends.
//!
//! Each checker returns `Ok(())` or `Err(reason)`, where the reason completes the sentence
//! "… is not valid: " in a finding. Invariant: pure, total functions over `&str`; no panics on
//! any input (indexing only after checking lengths and ASCII).

/// `YYYY[MM[DD[hh[mm[ss]]]]]`, UTC, digits only, with calendar ranges.
pub fn dtm(value: &str) -> Result<(), String> {
    let b = value.as_bytes();
    if !matches!(b.len(), 4 | 6 | 8 | 10 | 12 | 14) {
        return Err(format!(
            "it has {} characters; expected 4, 6, 8, 10, 12 or 14 digits (YYYY[MM[DD[hh[mm[ss]]]]], UTC, no zone)",
            b.len()
        ));
    }
    if !b.iter().all(u8::is_ascii_digit) {
        return Err(
            "it contains characters other than digits; expected YYYY[MM[DD[hh[mm[ss]]]]] in UTC without separators or zone"
                .to_owned(),
        );
    }
    let num =
        |from: usize| -> u32 { u32::from(b[from] - b'0') * 10 + u32::from(b[from + 1] - b'0') };
    let year = num(0) * 100 + num(2);
    if b.len() >= 6 {
        let month = num(4);
        if !(1..=12).contains(&month) {
            return Err(format!("month {month:02} is not 01-12"));
        }
        if b.len() >= 8 {
            let day = num(6);
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let days = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            if day < 1 || day > days {
                return Err(format!(
                    "day {day:02} does not exist in month {month:02} of {year}"
                ));
            }
        }
    }
    if b.len() >= 10 && num(8) > 23 {
        return Err(format!("hour {:02} is not 00-23", num(8)));
    }
    if b.len() >= 12 && num(10) > 59 {
        return Err(format!("minute {:02} is not 00-59", num(10)));
    }
    if b.len() >= 14 && num(12) > 59 {
        return Err(format!("second {:02} is not 00-59", num(12)));
    }
    Ok(())
}

/// An ISO OID: arcs of digits separated by dots, no leading zeros, first arc 0-2, at least two
/// arcs, at most 64 characters.
pub fn oid(value: &str) -> Result<(), String> {
    if value.len() > 64 {
        return Err(format!(
            "it is {} characters long; an OID here has at most 64",
            value.len()
        ));
    }
    let arcs: Vec<&str> = value.split('.').collect();
    if arcs.len() < 2 {
        return Err("it is not a dotted OID such as 1.2.208.176.1.2".to_owned());
    }
    for arc in &arcs {
        if arc.is_empty() || !arc.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "arc '{arc}' is not a number; an OID is dotted decimal numbers such as 1.2.208.176.1.2"
            ));
        }
        if arc.len() > 1 && arc.starts_with('0') {
            return Err(format!("arc '{arc}' has a leading zero"));
        }
    }
    if !matches!(arcs.first(), Some(&"0" | &"1" | &"2")) {
        return Err("the first arc of an OID is 0, 1 or 2".to_owned());
    }
    Ok(())
}

/// DocumentEntry.uniqueId: `OID` or `OID^extension` (OID ≤ 64, extension ≤ 16, total ≤ 128).
pub fn document_unique_id(value: &str) -> Result<(), String> {
    if value.len() > 128 {
        return Err(format!(
            "it is {} characters long; at most 128",
            value.len()
        ));
    }
    match value.split_once('^') {
        None => oid(value),
        Some((root, ext)) => {
            oid(root).map_err(|e| format!("its OID part '{root}' is not valid: {e}"))?;
            if ext.is_empty() || ext.len() > 16 {
                return Err(format!(
                    "its extension '{ext}' has {} characters; expected 1 to 16",
                    ext.len()
                ));
            }
            Ok(())
        }
    }
}

/// `urn:uuid:` followed by a UUID in 8-4-4-4-12 hexadecimal form (case-insensitive prefix).
pub fn is_uuid_urn(value: &str) -> bool {
    let Some(prefix) = value.get(..9) else {
        return false;
    };
    if !prefix.eq_ignore_ascii_case("urn:uuid:") {
        return false;
    }
    let rest = value.as_bytes().get(9..).unwrap_or_default();
    rest.len() == 36
        && rest.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// True if the id claims to be a UUID (`urn:uuid:` prefix), well-formed or not.
pub fn looks_like_uuid(value: &str) -> bool {
    value
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:uuid:"))
}

/// An object id in a submission: a well-formed UUID urn, or a symbolic id.
pub fn object_id(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("it is empty; expected an entryUUID (urn:uuid:…) or a symbolic id".to_owned());
    }
    if looks_like_uuid(value) && !is_uuid_urn(value) {
        return Err(
            "it starts with urn:uuid: but is not a UUID; expected urn:uuid: followed by 8-4-4-4-12 hexadecimal digits"
                .to_owned(),
        );
    }
    if value.chars().any(char::is_whitespace) {
        return Err("it contains whitespace".to_owned());
    }
    Ok(())
}

/// SHA-1 as 40 hexadecimal characters.
pub fn hash(value: &str) -> Result<(), String> {
    if value.len() == 40 && value.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "it has {} characters; expected the SHA-1 of the document as 40 hexadecimal characters",
            value.chars().count()
        ))
    }
}

/// A non-negative decimal integer that fits in `u64`.
pub fn size(value: &str) -> Result<(), String> {
    if !value.is_empty()
        && value.bytes().all(|c| c.is_ascii_digit())
        && value.parse::<u64>().is_ok()
    {
        Ok(())
    } else {
        Err("expected the document length in bytes as a non-negative decimal integer".to_owned())
    }
}

/// HL7 `&OID&ISO` assigning authority as in CX.4, XCN.9, XON.6. Returns the OID.
pub fn iso_authority(value: &str) -> Result<&str, String> {
    let parts: Vec<&str> = value.split('&').collect();
    match parts.as_slice() {
        ["", oid_part, "ISO"] => {
            oid(oid_part).map_err(|e| format!("assigning authority '{oid_part}': {e}"))?;
            Ok(oid_part)
        }
        _ => Err(format!(
            "assigning authority '{value}' is not of the form &OID&ISO"
        )),
    }
}

/// A parsed CX value: `id^^^&OID&ISO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cx<'a> {
    pub id: &'a str,
    pub authority: &'a str,
}

/// CX as XDS restricts it: components 1 and 4 only; 4 is `&OID&ISO`.
pub fn cx(value: &str) -> Result<Cx<'_>, String> {
    let comps: Vec<&str> = value.split('^').collect();
    let id = comps.first().copied().unwrap_or_default();
    if id.is_empty() {
        return Err("its id (component 1) is empty; expected id^^^&OID&ISO".to_owned());
    }
    if comps.len() < 4 {
        return Err("it has no assigning authority; expected id^^^&OID&ISO".to_owned());
    }
    if comps[1..3].iter().any(|c| !c.is_empty()) || comps[4..].iter().any(|c| !c.is_empty()) {
        return Err(
            "it has components other than id (1) and assigning authority (4); XDS allows only id^^^&OID&ISO"
                .to_owned(),
        );
    }
    let authority = iso_authority(comps[3])?;
    Ok(Cx { id, authority })
}

/// XCN: an id (1) or a family name (2); with an id, an ISO assigning authority (9) if present.
pub fn xcn(value: &str) -> Result<(), String> {
    let comps: Vec<&str> = value.split('^').collect();
    let id = comps.first().copied().unwrap_or_default();
    let family = comps.get(1).copied().unwrap_or_default();
    if id.is_empty() && family.is_empty() {
        return Err(
            "it has neither an id (component 1) nor a family name (component 2)".to_owned(),
        );
    }
    if let Some(auth) = comps.get(8).filter(|a| !a.is_empty()) {
        iso_authority(auth)?;
    }
    Ok(())
}

/// A parsed XON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xon<'a> {
    pub name: &'a str,
    /// Component 6 (the assigning authority's OID), if present and well-formed.
    pub authority: Option<&'a str>,
    /// Component 10, the organization identifier.
    pub id: Option<&'a str>,
}

/// XON: a name (1); an id (10) with an ISO assigning authority (6) when given.
pub fn xon(value: &str) -> Result<Xon<'_>, String> {
    let comps: Vec<&str> = value.split('^').collect();
    let name = comps.first().copied().unwrap_or_default();
    if name.is_empty() {
        return Err("its organization name (component 1) is empty".to_owned());
    }
    let id = comps.get(9).copied().filter(|s| !s.is_empty());
    let authority = match comps.get(5).copied().filter(|s| !s.is_empty()) {
        Some(a) => Some(iso_authority(a)?),
        None => None,
    };
    if let (Some(i), None) = (id, authority)
        && oid(i).is_err()
    {
        return Err(
            "it has an organization id (component 10) that is not an OID but no assigning authority (component 6, &OID&ISO)"
                .to_owned(),
        );
    }
    Ok(Xon {
        name,
        authority,
        id,
    })
}

/// RFC 5646 language tag, simplified: alphabetic primary subtag of 2-8, then `-` subtags of
/// 1-8 letters or digits.
pub fn language_code(value: &str) -> Result<(), String> {
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok = (2..=8).contains(&primary.len())
        && primary.bytes().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err("expected an RFC 5646 language tag such as 'da-DK'".to_owned())
    }
}

/// `type/subtype` made of RFC 2045 token characters (parameters allowed after `;`).
pub fn mime_type(value: &str) -> Result<(), String> {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
    };
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) => Ok(()),
        _ => Err("expected a MIME type of the form type/subtype, e.g. text/xml".to_owned()),
    }
}

/// One sourcePatientInfo line: `PID-n|value`, n a PID field number.
pub fn pid_field(value: &str) -> Result<(), String> {
    let field = value
        .strip_prefix("PID-")
        .and_then(|rest| rest.split_once('|'))
        .map(|(n, _)| n);
    match field {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err("expected an HL7 PID field as 'PID-n|value', e.g. 'PID-5|Jensen^Jens'".to_owned()),
    }
}

/// `urn:oid:` followed by an OID.
pub fn home_community_id(value: &str) -> Result<(), String> {
    match value.strip_prefix("urn:oid:") {
        Some(rest) => oid(rest),
        None => {
            Err("expected urn:oid: followed by an OID, e.g. urn:oid:1.2.208.176.8.1".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtm_accepts_all_precisions_and_rejects_bad_calendar() {
        for ok in [
            "2024",
            "202402",
            "20240229",
            "2024022912",
            "202402291259",
            "20240229125959",
        ] {
            assert_eq!(dtm(ok), Ok(()), "{ok}");
        }
        for bad in [
            "20230229",
            "2024-02-29",
            "20241301",
            "20240101240000",
            "202401011200+0100",
            "",
            "20240431",
        ] {
            assert!(dtm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oid_and_unique_id() {
        assert!(oid("1.2.208.176.1.2").is_ok());
        assert!(oid("1.02.3").is_err());
        assert!(oid("3.1").is_err());
        assert!(oid("1").is_err());
        assert!(oid("1..2").is_err());
        assert!(document_unique_id("1.2.3^abc").is_ok());
        assert!(document_unique_id("1.2.3^").is_err());
        assert!(document_unique_id("1.2.3^12345678901234567").is_err());
    }

    #[test]
    fn uuid_forms() {
        assert!(is_uuid_urn("urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"));
        assert!(is_uuid_urn("URN:UUID:A54D6AA5-D40D-43F9-88C5-B4633D873BDD"));
        assert!(!is_uuid_urn("urn:uuid:a54d6aa5d40d43f988c5b4633d873bdd"));
        assert!(object_id("Document01").is_ok());
        assert!(object_id("urn:uuid:nope").is_err());
        assert!(object_id("").is_err());
    }

    #[test]
    fn hl7_types() {
        assert_eq!(
            cx("0101010101^^^&1.2.208.176.1.2&ISO"),
            Ok(Cx {
                id: "0101010101",
                authority: "1.2.208.176.1.2"
            })
        );
        assert!(cx("0101010101^^^1.2.208.176.1.2").is_err());
        assert!(cx("0101010101^x^^&1.2.208.176.1.2&ISO").is_err());
        assert!(cx("0101010101").is_err());
        assert!(xcn("^Hansen^Hans").is_ok());
        assert!(xcn("123^Hansen^^^^^^^&1.2.3&ISO").is_ok());
        assert!(xcn("^^Hans").is_err());
        let x = xon("Aarhus Universitetshospital^^^^^&1.2.208.176.1.1&ISO^^^^123456").unwrap();
        assert_eq!(x.authority, Some("1.2.208.176.1.1"));
        assert_eq!(x.id, Some("123456"));
        assert!(xon("^^^^^&1.2.208.176.1.1&ISO^^^^1").is_err());
        assert!(language_code("da-DK").is_ok());
        assert!(language_code("da_DK").is_err());
        assert!(mime_type("text/xml").is_ok());
        assert!(mime_type("textxml").is_err());
        assert!(home_community_id("urn:oid:1.2.208.176.8.1").is_ok());
        assert!(hash("da39a3ee5e6b4b0d3255bfef95601890afd80709").is_ok());
        assert!(size("-1").is_err());
    }
}
