//! The citizen's directives (opt-out and blocks) and their JSON form.
//!
//! The JSON shapes are those of INTERFACE.md ("JSON APIs", consent): a block is
//! `{"kind":"professional","professional_cpr":"..."}`, `{"kind":"organisation","sor":"..."}` or
//! `{"kind":"period","from":"YYYY-MM-DD","to":"YYYY-MM-DD"}`, each with optional
//! `valid_from`/`valid_to` dates. A stored block carries its `id` as well.
//!
//! Invariant: every [`Block`] and [`NewBlock`] value is valid — its CPR is 10 digits, its SOR is
//! not blank, its date ranges are ordered. The fields are private and the only ways in are
//! [`parse_block`], [`NewBlock::new`] and deserialization, all of which run the same
//! [`NewBlock::new`] checks. The decision function can therefore rely on them.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{
    Date, OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description,
};

/// The one date format of the consent API (`YYYY-MM-DD`, a calendar date without zone).
const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Longest SOR code accepted, in characters. SOR codes are 15–18 digits in practice; the limit
/// only keeps an absurd value from being stored and compared on every request.
pub const SOR_CHARS_MAX: usize = 64;

/// Identifier of a stored block (assigned by the store, answered as `{"id": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlockId(pub String);

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// All directives of one patient: what the decision function reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directives {
    /// The general opt-out (frabedelse), if registered.
    pub opt_out: Option<OptOut>,
    /// The blocks (spærringer), in the order the store returns them.
    pub blocks: Vec<Block>,
}

/// A registered opt-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// When it was registered. Informational only: an opt-out in the directives applies now,
    /// whatever this says, so a skewed clock can never make it ineffective.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// What a block hides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// Hides every document of the patient from this professional (matched by CPR).
    Professional { professional_cpr: String },
    /// Hides documents authored at this organisation (SOR) from everyone outside it.
    Organisation { sor: String },
    /// Hides documents whose service start time (or creation time) falls in `[from, to]`.
    Period { from: Date, to: Date },
}

impl BlockKind {
    /// The `kind` name of the JSON form.
    pub fn name(&self) -> &'static str {
        match self {
            BlockKind::Professional { .. } => "professional",
            BlockKind::Organisation { .. } => "organisation",
            BlockKind::Period { .. } => "period",
        }
    }
}

/// A block as posted, before the store gave it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlock {
    kind: BlockKind,
    valid_from: Option<Date>,
    valid_to: Option<Date>,
}

impl NewBlock {
    /// Checks and builds a block: the same checks as [`parse_block`].
    pub fn new(
        kind: BlockKind,
        valid_from: Option<Date>,
        valid_to: Option<Date>,
    ) -> Result<NewBlock, BlockError> {
        match &kind {
            BlockKind::Professional { professional_cpr } => {
                if !is_cpr(professional_cpr) {
                    return Err(BlockError::BadCpr {
                        value: professional_cpr.clone(),
                    });
                }
            }
            BlockKind::Organisation { sor } => {
                if sor.trim().is_empty() {
                    return Err(BlockError::EmptySor);
                }
                if sor.chars().count() > SOR_CHARS_MAX {
                    return Err(BlockError::SorTooLong {
                        chars: sor.chars().count(),
                    });
                }
            }
            BlockKind::Period { from, to } => {
                if from > to {
                    return Err(BlockError::FromAfterTo {
                        from_field: "from",
                        from: *from,
                        to_field: "to",
                        to: *to,
                    });
                }
            }
        }
        if let (Some(from), Some(to)) = (valid_from, valid_to)
            && from > to
        {
            return Err(BlockError::FromAfterTo {
                from_field: "valid_from",
                from,
                to_field: "valid_to",
                to,
            });
        }
        Ok(NewBlock {
            kind,
            valid_from,
            valid_to,
        })
    }

    /// The stored block, once the store has chosen its id.
    pub fn with_id(self, id: BlockId) -> Block {
        Block { id, block: self }
    }

    pub fn kind(&self) -> &BlockKind {
        &self.kind
    }

    /// First day (inclusive, UTC) on which the block applies; `None`: from the beginning.
    pub fn valid_from(&self) -> Option<Date> {
        self.valid_from
    }

    /// Last day (inclusive, UTC) on which the block applies; `None`: indefinitely.
    pub fn valid_to(&self) -> Option<Date> {
        self.valid_to
    }
}

/// A stored block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BlockJson", into = "BlockJson")]
pub struct Block {
    id: BlockId,
    block: NewBlock,
}

impl Block {
    pub fn id(&self) -> &BlockId {
        &self.id
    }

    pub fn kind(&self) -> &BlockKind {
        &self.block.kind
    }

    /// See [`NewBlock::valid_from`].
    pub fn valid_from(&self) -> Option<Date> {
        self.block.valid_from
    }

    /// See [`NewBlock::valid_to`].
    pub fn valid_to(&self) -> Option<Date> {
        self.block.valid_to
    }

    /// True if the block applies on `today` (its validity window is inclusive at both ends).
    pub fn is_active_on(&self, today: Date) -> bool {
        self.valid_from().is_none_or(|from| from <= today)
            && self.valid_to().is_none_or(|to| today <= to)
    }
}

/// Why a posted or stored block was refused. The JSON API answers it as a 400 with
/// `{"error": "...", "detail": <Display>}` and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// Not JSON, not an object, or a field of the wrong JSON type.
    #[error("block is not a valid JSON object: {detail}")]
    Json { detail: String },
    #[error(
        "unknown block kind {kind:?} (expected \"professional\", \"organisation\" or \"period\")"
    )]
    UnknownKind { kind: String },
    #[error("a {kind} block needs the field `{field}`")]
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    /// A field that does not belong to this kind (e.g. `sor` on a period block), or an `id` in a
    /// posted block (the store assigns ids).
    #[error("field `{field}` is not allowed on a {kind} block")]
    UnexpectedField { kind: String, field: &'static str },
    #[error("`{field}` is not a date YYYY-MM-DD: {value:?}")]
    BadDate { field: &'static str, value: String },
    #[error("`{from_field}` {from} is after `{to_field}` {to}")]
    FromAfterTo {
        from_field: &'static str,
        from: Date,
        to_field: &'static str,
        to: Date,
    },
    #[error("professional_cpr {value:?} is not 10 digits")]
    BadCpr { value: String },
    #[error("sor is empty")]
    EmptySor,
    #[error("sor has {chars} characters, more than {SOR_CHARS_MAX}")]
    SorTooLong { chars: usize },
}

/// Parses the body of `POST /consent/v1/patients/{cpr}/blocks` into a checked block.
pub fn parse_block(json: &str) -> Result<NewBlock, BlockError> {
    let raw: BlockJson = serde_json::from_str(json).map_err(|e| BlockError::Json {
        detail: e.to_string(),
    })?;
    if raw.id.is_some() {
        return Err(BlockError::UnexpectedField {
            kind: raw.kind,
            field: "id",
        });
    }
    raw.into_new_block()
}

/// The wire form: every field of every kind, checked by [`BlockJson::into_new_block`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    professional_cpr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default)]
    valid_from: Option<String>,
    #[serde(default)]
    valid_to: Option<String>,
}

impl BlockJson {
    fn into_new_block(self) -> Result<NewBlock, BlockError> {
        let kind_name: &'static str = match self.kind.as_str() {
            "professional" => "professional",
            "organisation" => "organisation",
            "period" => "period",
            _ => return Err(BlockError::UnknownKind { kind: self.kind }),
        };
        let unexpected = |present: bool, field: &'static str| -> Result<(), BlockError> {
            if present {
                Err(BlockError::UnexpectedField {
                    kind: kind_name.to_owned(),
                    field,
                })
            } else {
                Ok(())
            }
        };
        let required = |value: Option<String>, field: &'static str| {
            value.ok_or(BlockError::MissingField {
                kind: kind_name,
                field,
            })
        };
        let kind = match kind_name {
            "professional" => {
                unexpected(self.sor.is_some(), "sor")?;
                unexpected(self.from.is_some(), "from")?;
                unexpected(self.to.is_some(), "to")?;
                BlockKind::Professional {
                    professional_cpr: required(self.professional_cpr, "professional_cpr")?,
                }
            }
            "organisation" => {
                unexpected(self.professional_cpr.is_some(), "professional_cpr")?;
                unexpected(self.from.is_some(), "from")?;
                unexpected(self.to.is_some(), "to")?;
                BlockKind::Organisation {
                    sor: required(self.sor, "sor")?,
                }
            }
            _ => {
                unexpected(self.professional_cpr.is_some(), "professional_cpr")?;
                unexpected(self.sor.is_some(), "sor")?;
                let from = parse_date("from", &required(self.from, "from")?)?;
                let to = parse_date("to", &required(self.to, "to")?)?;
                BlockKind::Period { from, to }
            }
        };
        let valid_from = self
            .valid_from
            .map(|v| parse_date("valid_from", &v))
            .transpose()?;
        let valid_to = self
            .valid_to
            .map(|v| parse_date("valid_to", &v))
            .transpose()?;
        NewBlock::new(kind, valid_from, valid_to)
    }
}

impl TryFrom<BlockJson> for Block {
    type Error = BlockError;

    fn try_from(mut raw: BlockJson) -> Result<Block, BlockError> {
        let id = raw.id.take().ok_or(BlockError::MissingField {
            kind: "stored",
            field: "id",
        })?;
        Ok(raw.into_new_block()?.with_id(BlockId(id)))
    }
}

impl From<Block> for BlockJson {
    fn from(b: Block) -> BlockJson {
        let mut raw = BlockJson {
            id: Some(b.id.0),
            kind: b.block.kind.name().to_owned(),
            professional_cpr: None,
            sor: None,
            from: None,
            to: None,
            valid_from: b.block.valid_from.map(format_date),
            valid_to: b.block.valid_to.map(format_date),
        };
        match b.block.kind {
            BlockKind::Professional { professional_cpr } => {
                raw.professional_cpr = Some(professional_cpr)
            }
            BlockKind::Organisation { sor } => raw.sor = Some(sor),
            BlockKind::Period { from, to } => {
                raw.from = Some(format_date(from));
                raw.to = Some(format_date(to));
            }
        }
        raw
    }
}

fn parse_date(field: &'static str, value: &str) -> Result<Date, BlockError> {
    Date::parse(value, DATE_FORMAT).map_err(|_| BlockError::BadDate {
        field,
        value: value.to_owned(),
    })
}

fn format_date(d: Date) -> String {
    // Only years outside 0..=9999 fail to format, and `parse_date` never yields one.
    d.format(DATE_FORMAT).unwrap_or_else(|_| d.to_string())
}

/// A CPR number as the directives store it: exactly 10 ASCII digits.
fn is_cpr(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}
