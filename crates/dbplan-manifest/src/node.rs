//! A YAML document as a tree in which every value keeps its source span.
//!
//! serde-saphyr parses the text (it rejects duplicate keys and never panics) into `RawNode`s
//! wrapped in `Spanned`; they are converted into [`Node`]s whose spans are byte ranges in a
//! [`SourceMap`](dbplan_diagnostics::SourceMap) file. Later stages map JSON pointers (from jsonschema errors or from typed
//! checks) back to these spans.

use dbplan_diagnostics::{FileId, Span};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map as JsonMap, Number, Value as Json};
use serde_saphyr::Spanned;
use std::fmt;

/// A value as serde-saphyr hands it over, before spans are converted.
#[derive(Debug)]
pub(crate) enum RawNode {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<RawNode>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawNode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }

            fn visit_unit<E: de::Error>(self) -> Result<RawNode, E> {
                Ok(RawNode::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<RawNode, E> {
                Ok(RawNode::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
                RawNode::deserialize(d)
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawNode, E> {
                Ok(RawNode::Bool(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawNode, E> {
                Ok(RawNode::Int(i128::from(value)))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawNode, E> {
                Ok(RawNode::Int(i128::from(value)))
            }

            fn visit_i128<E: de::Error>(self, value: i128) -> Result<RawNode, E> {
                Ok(RawNode::Int(value))
            }

            fn visit_u128<E: de::Error>(self, value: u128) -> Result<RawNode, E> {
                Ok(i128::try_from(value).map_or(RawNode::Float(value as f64), RawNode::Int))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawNode, E> {
                Ok(RawNode::Float(value))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawNode, E> {
                crate::limits::check_scalar(value.len())?;
                Ok(RawNode::String(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<RawNode, E> {
                crate::limits::check_scalar(value.len())?;
                Ok(RawNode::String(value))
            }

            fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<RawNode, E> {
                crate::limits::check_scalar(value.len())?;
                Ok(RawNode::String(String::from_utf8_lossy(value).into_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<RawNode, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = access.next_element::<Spanned<RawNode>>()? {
                    items.push(item);
                }
                Ok(RawNode::Seq(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<RawNode, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = access.next_key::<Spanned<RawNode>>()? {
                    let value = access.next_value::<Spanned<RawNode>>()?;
                    entries.push((key, value));
                }
                Ok(RawNode::Map(entries))
            }
        }

        deserializer.deserialize_any(RawVisitor)
    }
}

/// A YAML value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub span: Span,
}

/// The value of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// One `key: value` pair of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key as written (non-string keys are rendered to text).
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// A span for a serde-saphyr location: its byte range when known, else the line and column.
fn span_of(
    file: FileId,
    location: &serde_saphyr::Location,
    text: &dbplan_diagnostics::SourceFile,
) -> Span {
    let span = location.span();
    match span.byte_offset() {
        Some(start) => {
            let start = u32::try_from(start).unwrap_or(u32::MAX);
            let length = span
                .byte_len()
                .and_then(|length| u32::try_from(length).ok())
                .unwrap_or(0);
            Span::new(file, start, start.saturating_add(length))
        }
        None => {
            let line = u32::try_from(location.line()).unwrap_or(u32::MAX);
            let column = u32::try_from(location.column()).unwrap_or(u32::MAX);
            let start = text.offset(line, column);
            Span::new(file, start, start)
        }
    }
}

impl Node {
    pub(crate) fn from_raw(
        raw: Spanned<RawNode>,
        file: FileId,
        source: &dbplan_diagnostics::SourceFile,
    ) -> Node {
        let span = span_of(file, &raw.referenced, source);
        let value = match raw.value {
            RawNode::Null => NodeValue::Null,
            RawNode::Bool(value) => NodeValue::Bool(value),
            RawNode::Int(value) => NodeValue::Int(value),
            RawNode::Float(value) => NodeValue::Float(value),
            RawNode::String(value) => NodeValue::String(value),
            RawNode::Seq(items) => NodeValue::Seq(
                items
                    .into_iter()
                    .map(|item| Node::from_raw(item, file, source))
                    .collect(),
            ),
            RawNode::Map(entries) => NodeValue::Map(
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let key_span = span_of(file, &key.referenced, source);
                        let key = match key.value {
                            RawNode::String(text) => text,
                            RawNode::Null => "null".to_owned(),
                            RawNode::Bool(value) => value.to_string(),
                            RawNode::Int(value) => value.to_string(),
                            RawNode::Float(value) => value.to_string(),
                            RawNode::Seq(_) | RawNode::Map(_) => "<complex key>".to_owned(),
                        };
                        Entry {
                            key,
                            key_span,
                            value: Node::from_raw(value, file, source),
                        }
                    })
                    .collect(),
            ),
        };
        Node { value, span }
    }

    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// The entry for `key` when this node is a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|entry| entry.key == key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// A short description of the value's type for messages ("a string", "a list", ...).
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The node and, for a mapping entry, its key span at a JSON pointer (`/spec/subnet_ids/0`).
    /// Returns the deepest node that exists on the way, so a pointer to a missing field still
    /// finds its parent.
    pub fn locate(&self, pointer: &str) -> Located<'_> {
        let mut current = Located {
            node: self,
            key_span: None,
            complete: true,
        };
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            let next = match &current.node.value {
                NodeValue::Map(entries) => entries
                    .iter()
                    .find(|entry| entry.key == token)
                    .map(|entry| (&entry.value, Some(entry.key_span))),
                NodeValue::Seq(items) => token
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index))
                    .map(|item| (item, None)),
                _ => None,
            };
            match next {
                Some((node, key_span)) => {
                    current = Located {
                        node,
                        key_span,
                        complete: true,
                    }
                }
                None => {
                    current.complete = false;
                    break;
                }
            }
        }
        current
    }

    /// The JSON form of this node (used for schema validation and typed deserialisation).
    pub fn to_json(&self) -> Json {
        match &self.value {
            NodeValue::Null => Json::Null,
            NodeValue::Bool(value) => Json::Bool(*value),
            NodeValue::Int(value) => i64::try_from(*value)
                .map(Number::from)
                .ok()
                .or_else(|| u64::try_from(*value).ok().map(Number::from))
                .or_else(|| Number::from_f64(*value as f64))
                .map_or(Json::Null, Json::Number),
            NodeValue::Float(value) => Number::from_f64(*value).map_or(Json::Null, Json::Number),
            NodeValue::String(text) => Json::String(text.clone()),
            NodeValue::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut map = JsonMap::new();
                for entry in entries {
                    map.insert(entry.key.clone(), entry.value.to_json());
                }
                Json::Object(map)
            }
        }
    }

    /// A short rendering of a scalar for messages, e.g. `14.6` or `"pg"`.
    pub fn display_scalar(&self) -> String {
        match &self.value {
            NodeValue::Null => "null".to_owned(),
            NodeValue::Bool(value) => value.to_string(),
            NodeValue::Int(value) => value.to_string(),
            NodeValue::Float(value) => value.to_string(),
            NodeValue::String(text) => format!("{text:?}"),
            NodeValue::Seq(_) => "a list".to_owned(),
            NodeValue::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// The result of [`Node::locate`].
#[derive(Clone, Copy, Debug)]
pub struct Located<'a> {
    pub node: &'a Node,
    /// The span of the key whose value `node` is, if `node` is a mapping value.
    pub key_span: Option<Span>,
    /// Whether the whole pointer was found (false: `node` is the deepest existing ancestor).
    pub complete: bool,
}

impl Located<'_> {
    /// The span a diagnostic about this value should point at: the value for scalars, the key
    /// for mappings and lists (whose own span is often just their first character).
    pub fn span(&self) -> Span {
        match (&self.node.value, self.key_span) {
            (NodeValue::Map(_) | NodeValue::Seq(_), Some(key_span)) => key_span,
            _ => self.node.span,
        }
    }
}
