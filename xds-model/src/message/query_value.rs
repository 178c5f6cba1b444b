//! The value syntax of stored query parameters (ITI TF-2a 3.18.4.1.2.3.5), typed.
//!
//! One `rim:Value` of an `rim:AdhocQuery` slot holds one of:
//! - a string in single quotes, a quote inside doubled: `'it''s'`;
//! - a number without quotes (timestamps such as `20240101` are numbers);
//! - a parenthesised, comma-separated list of those: `('a','b')`, `(1,2)`.
//!
//! Code parameters (`$XDSDocumentEntryClassCode` …) hold strings `'code^^scheme'`, split by
//! [`QueryCode::parse`].
//!
//! Invariant: `QueryValue::parse(&v.to_string()) == Ok(v)` for every value; whitespace around
//! tokens is accepted on input and never written.

use std::fmt;

/// One item: a string or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    String(String),
    Number(i64),
}

/// A parsed `rim:Value` of a stored query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryValue {
    Single(Scalar),
    /// A parenthesised list; never empty.
    List(Vec<Scalar>),
}

/// Why a parameter value could not be read; each names the value and the byte offset in it.
/// At the edge these become `XDSRegistryError` (ITI-18 has no finer code for syntax).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryValueError {
    #[error("empty stored query parameter value")]
    Empty,
    #[error("string not closed by `'` in stored query value {value:?} (starts at byte {offset})")]
    UnterminatedString { value: String, offset: usize },
    #[error("unexpected {found:?} at byte {offset} of stored query value {value:?}")]
    UnexpectedCharacter {
        value: String,
        offset: usize,
        found: char,
    },
    #[error("number {number:?} in stored query value {value:?} is out of range")]
    NumberOutOfRange { value: String, number: String },
    #[error("empty list `()` in stored query value {value:?}")]
    EmptyList { value: String },
    #[error("list not closed by `)` in stored query value {value:?}")]
    UnterminatedList { value: String },
    #[error("code {value:?} is not of the form 'code^^scheme'")]
    BadCode { value: String },
}

impl Scalar {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::String(s) => Some(s),
            Scalar::Number(_) => None,
        }
    }

    pub fn as_number(&self) -> Option<i64> {
        match self {
            Scalar::Number(n) => Some(*n),
            Scalar::String(_) => None,
        }
    }
}

impl QueryValue {
    pub fn parse(value: &str) -> Result<QueryValue, QueryValueError> {
        let mut p = Parser { value, pos: 0 };
        p.skip_ws();
        let result = match p.peek() {
            None => return Err(QueryValueError::Empty),
            Some('(') => {
                p.pos += 1;
                let mut items = Vec::new();
                loop {
                    p.skip_ws();
                    match p.peek() {
                        Some(')') if items.is_empty() => {
                            return Err(QueryValueError::EmptyList {
                                value: value.to_owned(),
                            });
                        }
                        None => {
                            return Err(QueryValueError::UnterminatedList {
                                value: value.to_owned(),
                            });
                        }
                        _ => {}
                    }
                    items.push(p.scalar()?);
                    p.skip_ws();
                    match p.peek() {
                        Some(',') => p.pos += 1,
                        Some(')') => {
                            p.pos += 1;
                            break;
                        }
                        None => {
                            return Err(QueryValueError::UnterminatedList {
                                value: value.to_owned(),
                            });
                        }
                        Some(c) => return Err(p.unexpected(c)),
                    }
                }
                QueryValue::List(items)
            }
            Some(_) => QueryValue::Single(p.scalar()?),
        };
        p.skip_ws();
        match p.peek() {
            None => Ok(result),
            Some(c) => Err(p.unexpected(c)),
        }
    }

    /// The items, whether the value was a list or a single one.
    pub fn scalars(&self) -> &[Scalar] {
        match self {
            QueryValue::Single(s) => std::slice::from_ref(s),
            QueryValue::List(l) => l,
        }
    }
}

struct Parser<'a> {
    value: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.value[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        let rest = &self.value[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn unexpected(&self, found: char) -> QueryValueError {
        QueryValueError::UnexpectedCharacter {
            value: self.value.to_owned(),
            offset: self.pos,
            found,
        }
    }

    fn scalar(&mut self) -> Result<Scalar, QueryValueError> {
        match self.peek() {
            Some('\'') => self.string(),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) => Err(self.unexpected(c)),
            None => Err(QueryValueError::Empty),
        }
    }

    fn string(&mut self) -> Result<Scalar, QueryValueError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.value[self.pos..];
            let Some(q) = rest.find('\'') else {
                return Err(QueryValueError::UnterminatedString {
                    value: self.value.to_owned(),
                    offset: start,
                });
            };
            out.push_str(&rest[..q]);
            self.pos += q + 1;
            // A doubled quote is a quote inside the string.
            if self.value[self.pos..].starts_with('\'') {
                out.push('\'');
                self.pos += 1;
            } else {
                return Ok(Scalar::String(out));
            }
        }
    }

    fn number(&mut self) -> Result<Scalar, QueryValueError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        let digits = self.value[self.pos..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits == 0 {
            return match self.peek() {
                Some(c) => Err(self.unexpected(c)),
                None => Err(QueryValueError::UnexpectedCharacter {
                    value: self.value.to_owned(),
                    offset: start,
                    found: '-',
                }),
            };
        }
        self.pos += digits;
        let text = &self.value[start..self.pos];
        text.parse()
            .map(Scalar::Number)
            .map_err(|_| QueryValueError::NumberOutOfRange {
                value: self.value.to_owned(),
                number: text.to_owned(),
            })
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::String(s) => {
                f.write_str("'")?;
                f.write_str(&s.replace('\'', "''"))?;
                f.write_str("'")
            }
        }
    }
}

impl fmt::Display for QueryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryValue::Single(s) => s.fmt(f),
            QueryValue::List(items) => {
                f.write_str("(")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    s.fmt(f)?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A code parameter item `code^^scheme`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryCode {
    pub code: String,
    pub scheme: String,
}

impl QueryCode {
    /// Splits `code^^scheme` (the string inside the quotes). Both parts must be non-empty:
    /// ITI-18 requires the scheme since the 2010 revision.
    pub fn parse(item: &str) -> Result<QueryCode, QueryValueError> {
        match item.split_once("^^") {
            Some((code, scheme))
                if !code.is_empty() && !scheme.is_empty() && !scheme.contains('^') =>
            {
                Ok(QueryCode {
                    code: code.to_owned(),
                    scheme: scheme.to_owned(),
                })
            }
            _ => Err(QueryValueError::BadCode {
                value: item.to_owned(),
            }),
        }
    }
}

impl fmt::Display for QueryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}^^{}", self.code, self.scheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &str) -> Scalar {
        Scalar::String(v.to_owned())
    }

    #[test]
    fn reads_every_form() {
        assert_eq!(
            QueryValue::parse("'a'").unwrap(),
            QueryValue::Single(s("a"))
        );
        assert_eq!(
            QueryValue::parse("'it''s'").unwrap(),
            QueryValue::Single(s("it's"))
        );
        assert_eq!(
            QueryValue::parse("20240101").unwrap(),
            QueryValue::Single(Scalar::Number(20240101))
        );
        assert_eq!(
            QueryValue::parse(" ( 'a' , 'b^^c' ) ").unwrap(),
            QueryValue::List(vec![s("a"), s("b^^c")])
        );
        assert_eq!(
            QueryValue::parse("(1,-2)").unwrap(),
            QueryValue::List(vec![Scalar::Number(1), Scalar::Number(-2)])
        );
    }

    #[test]
    fn rejects_malformed_values() {
        type Check = fn(&QueryValueError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, QueryValueError::Empty)),
            ("'abc", |e| {
                matches!(e, QueryValueError::UnterminatedString { offset: 0, .. })
            }),
            ("abc", |e| {
                matches!(e, QueryValueError::UnexpectedCharacter { found: 'a', .. })
            }),
            ("()", |e| matches!(e, QueryValueError::EmptyList { .. })),
            ("('a'", |e| {
                matches!(e, QueryValueError::UnterminatedList { .. })
            }),
            ("('a';'b')", |e| {
                matches!(
                    e,
                    QueryValueError::UnexpectedCharacter {
                        found: ';',
                        offset: 4,
                        ..
                    }
                )
            }),
            ("99999999999999999999", |e| {
                matches!(e, QueryValueError::NumberOutOfRange { .. })
            }),
            ("'a' 'b'", |e| {
                matches!(e, QueryValueError::UnexpectedCharacter { found: '\'', .. })
            }),
        ];
        for (input, check) in cases {
            let err = QueryValue::parse(input).unwrap_err();
            assert!(check(&err), "{input:?} gave {err:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn codes_split() {
        assert_eq!(
            QueryCode::parse("001^^1.2.208.184.100.9").unwrap(),
            QueryCode {
                code: "001".into(),
                scheme: "1.2.208.184.100.9".into()
            }
        );
        assert!(QueryCode::parse("001").is_err());
        assert!(QueryCode::parse("^^x").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips(
            items in proptest::collection::vec(
                prop_oneof![any::<i64>().prop_map(Scalar::Number), ".*".prop_map(Scalar::String)],
                1..5,
            ),
            single in any::<bool>(),
        ) {
            let v = if single {
                QueryValue::Single(items[0].clone())
            } else {
                QueryValue::List(items)
            };
            prop_assert_eq!(QueryValue::parse(&v.to_string()).unwrap(), v);
        }
    }
}
