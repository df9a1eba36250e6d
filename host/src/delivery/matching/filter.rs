//! Operator filters on the delivery envelope, in the style of Outpost and
//! Convoy: `{"data.amount": {"$gt": 100}}`, `{"type": {"$startsWith":
//! "invoice."}}`, combined with `$and`, `$or` and `$not`.
//!
//! A filter is checked and compiled once ([`Filter::compile`], when an
//! endpoint is created or changed) and evaluated for every event against
//! every endpoint ([`Filter::matches`]), so evaluation does no parsing, no
//! allocation and never fails: a value of another type, or a path that is
//! not there, simply does not match.

use crate::config::{MAX_FILTER_BYTES, MAX_FILTER_DEPTH};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::fmt;

/// The operators that test the value at a path, as written under it.
pub const OPERATORS: [&str; 11] = [
    "$eq",
    "$neq",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$startsWith",
    "$endsWith",
];

/// The operators that combine conditions: `$and` and `$or` take a non-empty
/// array of conditions, `$not` one condition.
pub const COMBINATORS: [&str; 3] = ["$and", "$or", "$not"];

/// Why a filter was refused: where (`filter.$and[1].data.amount`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// A JSON-pointer-like path to the bad part, from `filter`.
    pub at: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl std::error::Error for FilterError {}

fn refuse<T>(at: &str, message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError {
        at: at.to_string(),
        message: message.into(),
    })
}

/// The parts of the delivery envelope a filter can address: its `type` and
/// its `data`.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The event type, as a JSON string.
    pub event_type: Value,
    /// The event data.
    pub data: &'a Value,
}

impl<'a> Envelope<'a> {
    /// The envelope of an event of type `event_type` with `data`.
    pub fn new(event_type: &str, data: &'a Value) -> Self {
        Self {
            event_type: Value::String(event_type.to_string()),
            data,
        }
    }
}

/// A checked filter, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Filter(Condition);

#[derive(Debug, Clone)]
enum Condition {
    /// Every one holds (`$and`, or several keys in one object; none: true).
    All(Vec<Condition>),
    /// At least one holds (`$or`; never empty once compiled).
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Test(Path, Test),
}

/// A dotted path: `type`, `data`, or `data.` followed by keys (or array
/// indexes) separated by `.`.
#[derive(Debug, Clone)]
enum Path {
    Type,
    Data(Vec<Segment>),
}

#[derive(Debug, Clone)]
struct Segment {
    key: String,
    /// The key as an array index, when it is a decimal number.
    index: Option<usize>,
}

#[derive(Debug, Clone)]
enum Test {
    Eq(Value),
    Neq(Value),
    /// `$gt`, `$gte`, `$lt`, `$lte`: the orderings accepted, against a
    /// number or a string.
    Compare(&'static [Ordering], Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    StartsWith(String),
    EndsWith(String),
}

impl Filter {
    /// Checks `filter` and compiles it. Refused: anything but an object,
    /// more than [`MAX_FILTER_BYTES`] of compact JSON or [`MAX_FILTER_DEPTH`]
    /// levels of nesting, unknown operators, operands of the wrong type,
    /// paths outside `type` and `data`.
    pub fn compile(filter: &Value) -> Result<Filter, FilterError> {
        // Depth first: it bounds the recursion of everything after it.
        if deeper_than(filter, MAX_FILTER_DEPTH) {
            return refuse(
                "filter",
                format!("nested more than {MAX_FILTER_DEPTH} levels deep"),
            );
        }
        let size = serde_json::to_vec(filter).map_or(usize::MAX, |v| v.len());
        if size > MAX_FILTER_BYTES {
            return refuse(
                "filter",
                format!("{size} bytes of JSON, more than the {MAX_FILTER_BYTES} allowed"),
            );
        }
        match filter {
            Value::Object(map) => condition(map, "filter").map(Filter),
            _ => refuse(
                "filter",
                r#"must be an object, such as {"data.amount": {"$gt": 100}}"#,
            ),
        }
    }

    /// A filter nothing passes (for a stored filter that no longer compiles).
    pub fn nothing() -> Filter {
        Filter(Condition::Any(Vec::new()))
    }

    /// Whether `envelope` passes the filter.
    pub fn matches(&self, envelope: &Envelope<'_>) -> bool {
        self.0.holds(envelope)
    }
}

/// Whether `v` nests more than `limit` levels (a scalar is level 0, an
/// object or array one more than its deepest member). Recurses at most
/// `limit + 1` deep, whatever the depth of `v`.
fn deeper_than(v: &Value, limit: usize) -> bool {
    match v {
        Value::Array(a) => limit == 0 || a.iter().any(|c| deeper_than(c, limit - 1)),
        Value::Object(m) => limit == 0 || m.values().any(|c| deeper_than(c, limit - 1)),
        _ => false,
    }
}

/// The condition of an object: each key a combinator or a path; several
/// keys must all hold.
fn condition(map: &Map<String, Value>, at: &str) -> Result<Condition, FilterError> {
    let mut all = Vec::with_capacity(map.len());
    for (key, value) in map {
        let here = format!("{at}.{key}");
        let c = match key.as_str() {
            "$and" | "$or" => {
                let items = match value.as_array() {
                    Some(items) if !items.is_empty() => items,
                    _ => return refuse(&here, "takes a non-empty array of conditions"),
                };
                let mut conditions = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let here = format!("{here}[{i}]");
                    match item.as_object() {
                        Some(m) => conditions.push(condition(m, &here)?),
                        None => return refuse(&here, "must be an object (a condition)"),
                    }
                }
                if key == "$and" {
                    Condition::All(conditions)
                } else {
                    Condition::Any(conditions)
                }
            }
            "$not" => match value.as_object() {
                Some(m) => Condition::Not(Box::new(condition(m, &here)?)),
                None => return refuse(&here, "takes an object (a condition)"),
            },
            op if OPERATORS.contains(&op) => {
                return refuse(
                    at,
                    format!(r#"{op} goes under a path, as in {{"data.amount": {{"{op}": ...}}}}"#),
                );
            }
            op if op.starts_with('$') => {
                return refuse(
                    at,
                    format!("unknown operator {op} (conditions take $and, $or, $not or paths)"),
                );
            }
            path => {
                let path = parse_path(path, &here)?;
                tests(path, value, &here)?
            }
        };
        all.push(c);
    }
    Ok(if all.len() == 1 {
        all.pop().expect("one condition")
    } else {
        Condition::All(all)
    })
}

fn parse_path(path: &str, at: &str) -> Result<Path, FilterError> {
    let mut parts = path.split('.');
    let root = parts.next().unwrap_or_default();
    let below: Vec<&str> = parts.collect();
    if below.iter().any(|s| s.is_empty()) {
        return refuse(at, "a path has no empty segments");
    }
    match root {
        "type" if below.is_empty() => Ok(Path::Type),
        "type" => refuse(at, "type is a string: nothing is below it"),
        "data" => Ok(Path::Data(
            below
                .into_iter()
                .map(|key| Segment {
                    key: key.to_string(),
                    index: as_index(key),
                })
                .collect(),
        )),
        _ => refuse(
            at,
            format!("unknown field {root:?}: paths start with type or data (as in data.{root})"),
        ),
    }
}

/// `key` as an array index: a decimal number without leading zeros.
fn as_index(key: &str) -> Option<usize> {
    let canonical =
        key.bytes().all(|b| b.is_ascii_digit()) && (key == "0" || !key.starts_with('0'));
    if canonical { key.parse().ok() } else { None }
}

/// The tests at `path`: an object of operators, or a bare value (`$eq`).
fn tests(path: Path, value: &Value, at: &str) -> Result<Condition, FilterError> {
    let ops = match value {
        Value::Object(m) if m.keys().any(|k| k.starts_with('$')) => m,
        _ => return Ok(Condition::Test(path, Test::Eq(value.clone()))),
    };
    let mut all = Vec::with_capacity(ops.len());
    for (op, operand) in ops {
        let test = match op.as_str() {
            "$eq" => Test::Eq(operand.clone()),
            "$neq" => Test::Neq(operand.clone()),
            "$gt" | "$gte" | "$lt" | "$lte" => {
                if !(operand.is_number() || operand.is_string()) {
                    return refuse(&format!("{at}.{op}"), "takes a number or a string");
                }
                let accepted: &'static [Ordering] = match op.as_str() {
                    "$gt" => &[Ordering::Greater],
                    "$gte" => &[Ordering::Greater, Ordering::Equal],
                    "$lt" => &[Ordering::Less],
                    _ => &[Ordering::Less, Ordering::Equal],
                };
                Test::Compare(accepted, operand.clone())
            }
            "$in" | "$nin" => match operand.as_array() {
                Some(items) if op == "$in" => Test::In(items.clone()),
                Some(items) => Test::Nin(items.clone()),
                None => return refuse(&format!("{at}.{op}"), "takes an array"),
            },
            "$exists" => match operand.as_bool() {
                Some(b) => Test::Exists(b),
                None => return refuse(&format!("{at}.{op}"), "takes true or false"),
            },
            "$startsWith" | "$endsWith" => match operand.as_str() {
                Some(s) if op == "$startsWith" => Test::StartsWith(s.to_string()),
                Some(s) => Test::EndsWith(s.to_string()),
                None => return refuse(&format!("{at}.{op}"), "takes a string"),
            },
            c if COMBINATORS.contains(&c) => {
                return refuse(
                    at,
                    format!(
                        "{c} combines conditions and goes outside paths, as in \
                         {{\"{c}\": ...}}, not under one"
                    ),
                );
            }
            unknown if unknown.starts_with('$') => {
                return refuse(at, format!("unknown operator {unknown}"));
            }
            key => {
                return refuse(
                    at,
                    format!(
                        "mixes operators with the plain key {key:?}; to compare with an \
                         object that has $ keys, use {{\"$eq\": {{...}}}}"
                    ),
                );
            }
        };
        all.push(Condition::Test(path.clone(), test));
    }
    Ok(if all.len() == 1 {
        all.pop().expect("one test")
    } else {
        Condition::All(all)
    })
}

impl Condition {
    fn holds(&self, envelope: &Envelope<'_>) -> bool {
        match self {
            Condition::All(all) => all.iter().all(|c| c.holds(envelope)),
            Condition::Any(any) => any.iter().any(|c| c.holds(envelope)),
            Condition::Not(c) => !c.holds(envelope),
            Condition::Test(path, test) => test.passes(path.lookup(envelope)),
        }
    }
}

impl Path {
    fn lookup<'a>(&self, envelope: &'a Envelope<'_>) -> Option<&'a Value> {
        match self {
            Path::Type => Some(&envelope.event_type),
            Path::Data(segments) => segments.iter().try_fold(envelope.data, |v, s| match v {
                Value::Object(m) => m.get(&s.key),
                Value::Array(a) => s.index.and_then(|i| a.get(i)),
                _ => None,
            }),
        }
    }
}

impl Test {
    /// Whether `found` (the value at the path, `None` when missing) passes.
    fn passes(&self, found: Option<&Value>) -> bool {
        let Some(v) = found else {
            return matches!(self, Test::Neq(_) | Test::Nin(_) | Test::Exists(false));
        };
        match self {
            Test::Eq(want) => json_eq(v, want),
            Test::Neq(want) => !json_eq(v, want),
            Test::Compare(accepted, against) => {
                compare(v, against).is_some_and(|o| accepted.contains(&o))
            }
            Test::In(items) => items.iter().any(|x| json_eq(v, x)),
            Test::Nin(items) => !items.iter().any(|x| json_eq(v, x)),
            Test::Exists(want) => *want,
            Test::StartsWith(prefix) => v.as_str().is_some_and(|s| s.starts_with(prefix.as_str())),
            Test::EndsWith(suffix) => v.as_str().is_some_and(|s| s.ends_with(suffix.as_str())),
        }
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`), in arrays and
/// objects too. Recurses no deeper than the shallower of the two.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The order of two numbers or two strings (by code point); `None` across
/// types.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(number_cmp(x, y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Numbers by value, exactly: integers as integers (`u64` and `i64` alike),
/// an integer against a float without rounding the integer first.
fn number_cmp(a: &Number, b: &Number) -> Ordering {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    fn int_float(i: i128, f: f64) -> Ordering {
        // Floats this large are whole numbers and convert to i128 exactly;
        // beyond ±1e38 they are larger in magnitude than any JSON integer.
        if f.fract() == 0.0 && f.abs() < 1e38 {
            i.cmp(&(f as i128))
        } else {
            (i as f64).partial_cmp(&f).unwrap_or(Ordering::Equal)
        }
    }
    // serde_json numbers are finite: `as_f64` is always `Some`, never NaN.
    let float = |n: &Number| n.as_f64().unwrap_or_default();
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => int_float(x, float(b)),
        (None, Some(y)) => int_float(y, float(a)).reverse(),
        (None, None) => float(a).partial_cmp(&float(b)).unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Whether `filter` compiles and passes an event of `event_type` with `data`.
    fn passes(filter: Value, event_type: &str, data: Value) -> bool {
        let f = Filter::compile(&filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        f.matches(&Envelope::new(event_type, &data))
    }

    /// `filter` against the data `data` of an `invoice.paid` event.
    fn on(filter: Value, data: &Value) -> bool {
        passes(filter, "invoice.paid", data.clone())
    }

    fn refusal(filter: Value) -> String {
        match Filter::compile(&filter) {
            Ok(_) => panic!("{filter} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn invoice() -> Value {
        json!({
            "amount": 150, "price": 9.5, "status": "paid", "currency": "EUR",
            "customer": {"id": "cus_1", "tier": "gold", "tags": ["vip", "eu"]},
            "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
            "note": null, "paid": true, "a.b": 1
        })
    }

    #[test]
    fn eq_and_bare_values() {
        let d = invoice();
        assert!(on(json!({"data.status": "paid"}), &d));
        assert!(on(json!({"data.status": {"$eq": "paid"}}), &d));
        assert!(!on(json!({"data.status": "open"}), &d));
        assert!(on(json!({"data.amount": 150.0}), &d), "numbers by value");
        assert!(!on(json!({"data.amount": "150"}), &d), "types must match");
        assert!(on(json!({"data.note": null}), &d));
        assert!(
            !on(json!({"data.missing": null}), &d),
            "missing is not null"
        );
        assert!(on(json!({"data.paid": true}), &d));
        // Whole objects and arrays, numbers by value inside them too.
        assert!(on(json!({"data.customer.tags": ["vip", "eu"]}), &d));
        assert!(!on(json!({"data.customer.tags": ["eu", "vip"]}), &d));
        assert!(on(json!({"data.lines.1": {"qty": 1.0, "sku": "B-2"}}), &d));
        assert!(!on(json!({"data.lines.1": {"qty": 1}}), &d));
        assert!(on(
            json!({"data.customer": {"$eq": {"id": "cus_1", "tier": "gold", "tags": ["vip", "eu"]}}}),
            &d
        ));
        // $eq compares with an object holding `$` keys literally.
        let odd = json!({"q": {"$gt": 1}});
        assert!(on(json!({"data.q": {"$eq": {"$gt": 1}}}), &odd));
        assert!(
            !on(json!({"data.q": {"$gt": 0}}), &odd),
            "an object is not a number"
        );
        // The whole data, and the type.
        assert!(on(json!({"data": {"$exists": true}}), &d));
        assert!(passes(
            json!({"type": "invoice.paid"}),
            "invoice.paid",
            json!(null)
        ));
        assert!(!passes(
            json!({"type": "invoice.paid"}),
            "invoice.void",
            json!(null)
        ));
    }

    #[test]
    fn neq() {
        let d = invoice();
        assert!(on(json!({"data.status": {"$neq": "open"}}), &d));
        assert!(!on(json!({"data.status": {"$neq": "paid"}}), &d));
        assert!(!on(json!({"data.amount": {"$neq": 150.0}}), &d));
        assert!(
            on(json!({"data.amount": {"$neq": "150"}}), &d),
            "another type is not equal"
        );
        assert!(
            on(json!({"data.missing": {"$neq": "x"}}), &d),
            "missing matches $neq"
        );
        assert!(on(json!({"data.missing": {"$neq": null}}), &d));
    }

    #[test]
    fn ordering_on_numbers() {
        let d = invoice();
        for (filter, want) in [
            (json!({"data.amount": {"$gt": 100}}), true),
            (json!({"data.amount": {"$gt": 150}}), false),
            (json!({"data.amount": {"$gte": 150}}), true),
            (json!({"data.amount": {"$gte": 150.5}}), false),
            (json!({"data.amount": {"$lt": 150.5}}), true),
            (json!({"data.amount": {"$lt": 150}}), false),
            (json!({"data.amount": {"$lte": 150.0}}), true),
            (json!({"data.amount": {"$lte": -1}}), false),
            (json!({"data.price": {"$gt": 9}}), true),
            (json!({"data.price": {"$lt": 10}}), true),
            (json!({"data.price": {"$gt": 9.5}}), false),
            (json!({"data.amount": {"$gt": 100, "$lt": 200}}), true),
            (json!({"data.amount": {"$gt": 100, "$lt": 120}}), false),
        ] {
            assert_eq!(on(filter.clone(), &d), want, "{filter}");
        }
        // Exact with large integers, signed or not, and against floats.
        let big = json!({"n": u64::MAX, "m": i64::MIN, "k": 9007199254740993_u64});
        assert!(on(json!({"data.n": {"$gt": i64::MAX}}), &big));
        assert!(on(
            json!({"data.m": {"$lt": -9223372036854775807_i64}}),
            &big
        ));
        assert!(on(json!({"data.k": {"$gt": 9007199254740992.0}}), &big));
        assert!(on(json!({"data.n": {"$lt": 1e20}}), &big));
        assert!(on(json!({"data.n": {"$gt": 1.5}}), &big));
        assert!(!on(json!({"data.m": {"$lt": -1e300}}), &big));
        assert!(on(json!({"data.z": -0.0}), &json!({"z": 0})), "-0 equals 0");
    }

    #[test]
    fn ordering_on_strings_and_across_types() {
        let d = invoice();
        assert!(on(json!({"data.currency": {"$gt": "EUA"}}), &d));
        assert!(on(json!({"data.currency": {"$gte": "EUR"}}), &d));
        assert!(!on(json!({"data.currency": {"$gt": "EUR"}}), &d));
        assert!(
            on(json!({"data.currency": {"$lt": "eur"}}), &d),
            "by code point"
        );
        assert!(on(json!({"data.customer.tier": {"$lte": "gold"}}), &d));
        // Never across types, either way round.
        for filter in [
            json!({"data.amount": {"$gt": "100"}}),
            json!({"data.amount": {"$lt": "9"}}),
            json!({"data.currency": {"$gt": 1}}),
            json!({"data.currency": {"$lt": 1}}),
            json!({"data.paid": {"$gte": 0}}),
            json!({"data.note": {"$lte": 0}}),
            json!({"data.customer": {"$gt": ""}}),
            json!({"data.lines": {"$lt": 5}}),
        ] {
            assert!(!on(filter.clone(), &d), "{filter}");
        }
    }

    #[test]
    fn in_and_nin() {
        let d = invoice();
        assert!(on(json!({"data.currency": {"$in": ["USD", "EUR"]}}), &d));
        assert!(!on(json!({"data.currency": {"$in": ["USD", "GBP"]}}), &d));
        assert!(!on(json!({"data.currency": {"$in": []}}), &d));
        assert!(on(json!({"data.amount": {"$in": [1, 150.0]}}), &d));
        assert!(!on(json!({"data.amount": {"$in": ["150"]}}), &d));
        assert!(on(json!({"data.currency": {"$nin": ["USD", "GBP"]}}), &d));
        assert!(!on(json!({"data.currency": {"$nin": ["EUR"]}}), &d));
        assert!(on(json!({"data.currency": {"$nin": []}}), &d));
        assert!(
            !on(json!({"data.missing": {"$in": [null]}}), &d),
            "missing is never in"
        );
        assert!(
            on(json!({"data.missing": {"$nin": ["x"]}}), &d),
            "missing is not in"
        );
        // An array value is compared whole, not element by element.
        assert!(!on(json!({"data.customer.tags": {"$in": ["vip"]}}), &d));
        assert!(on(
            json!({"data.customer.tags": {"$in": [["vip", "eu"]]}}),
            &d
        ));
    }

    #[test]
    fn exists() {
        let d = invoice();
        assert!(
            on(json!({"data.note": {"$exists": true}}), &d),
            "null exists"
        );
        assert!(!on(json!({"data.note": {"$exists": false}}), &d));
        assert!(on(json!({"data.missing": {"$exists": false}}), &d));
        assert!(!on(json!({"data.missing": {"$exists": true}}), &d));
        assert!(on(json!({"data.customer.id": {"$exists": true}}), &d));
        assert!(on(json!({"data.status.length": {"$exists": false}}), &d));
        assert!(on(json!({"data.lines.5": {"$exists": false}}), &d));
        assert!(on(json!({"type": {"$exists": true}}), &d));
    }

    #[test]
    fn starts_and_ends_with() {
        let d = invoice();
        assert!(passes(
            json!({"type": {"$startsWith": "invoice."}}),
            "invoice.paid",
            json!({})
        ));
        assert!(!passes(
            json!({"type": {"$startsWith": "invoice."}}),
            "invoices.paid",
            json!({})
        ));
        assert!(passes(
            json!({"type": {"$endsWith": ".paid"}}),
            "invoice.paid",
            json!({})
        ));
        assert!(!passes(
            json!({"type": {"$endsWith": ".paid"}}),
            "invoice.void",
            json!({})
        ));
        assert!(on(json!({"data.customer.id": {"$startsWith": "cus_"}}), &d));
        assert!(on(json!({"data.customer.id": {"$startsWith": ""}}), &d));
        assert!(on(json!({"data.lines.0.sku": {"$endsWith": "-1"}}), &d));
        // Strings only: not numbers, not arrays of strings, not missing.
        assert!(!on(json!({"data.amount": {"$startsWith": "1"}}), &d));
        assert!(!on(
            json!({"data.customer.tags": {"$startsWith": "vip"}}),
            &d
        ));
        assert!(!on(json!({"data.missing": {"$endsWith": ""}}), &d));
    }

    #[test]
    fn missing_paths_match_only_exists_false_neq_and_nin() {
        let d = invoice();
        let all = [
            (json!({"$eq": 1}), false),
            (json!({"$eq": null}), false),
            (json!({"$neq": 1}), true),
            (json!({"$gt": 1}), false),
            (json!({"$gte": ""}), false),
            (json!({"$lt": 1}), false),
            (json!({"$lte": "z"}), false),
            (json!({"$in": [null, 1]}), false),
            (json!({"$nin": [null, 1]}), true),
            (json!({"$exists": true}), false),
            (json!({"$exists": false}), true),
            (json!({"$startsWith": ""}), false),
            (json!({"$endsWith": ""}), false),
        ];
        assert_eq!(all.len(), OPERATORS.len() + 2);
        for path in [
            "data.missing",
            "data.customer.missing.deeper",
            "data.lines.9.sku",
            "data.amount.x",
            "data.lines.x",
        ] {
            for (test, want) in &all {
                assert_eq!(on(json!({ path: test }), &d), *want, "{path}: {test}");
            }
        }
        // Data that is not an object at all.
        for data in [json!(null), json!(7), json!("s"), json!([1])] {
            assert!(!on(json!({"data.a": {"$exists": true}}), &data), "{data}");
            assert!(on(json!({"data.a": {"$neq": 1}}), &data), "{data}");
        }
    }

    #[test]
    fn dotted_paths_into_objects_and_arrays() {
        let d = invoice();
        assert!(on(json!({"data.customer.tier": "gold"}), &d));
        assert!(on(json!({"data.customer.tags.0": "vip"}), &d));
        assert!(on(json!({"data.customer.tags.1": "eu"}), &d));
        assert!(on(json!({"data.lines.1.qty": {"$lt": 2}}), &d));
        assert!(
            !on(json!({"data.lines.01.qty": {"$exists": true}}), &d),
            "not an index"
        );
        assert!(!on(json!({"data.lines.-1.qty": {"$exists": true}}), &d));
        // A numeric segment on an object is a key.
        assert!(on(
            json!({"data.m.0": "zero"}),
            &json!({"m": {"0": "zero"}})
        ));
        // A key with a dot in it cannot be addressed: segments split at every dot.
        assert!(!on(json!({"data.a.b": 1}), &d));
    }

    #[test]
    fn and_or_not_nested() {
        let d = invoice();
        let big_eur = json!({"$and": [{"data.amount": {"$gt": 100}}, {"data.currency": "EUR"}]});
        assert!(on(big_eur.clone(), &d));
        assert!(!on(
            json!({"$and": [{"data.amount": {"$gt": 100}}, {"data.currency": "USD"}]}),
            &d
        ));
        assert!(on(
            json!({"$or": [{"data.currency": "USD"}, {"data.status": "paid"}]}),
            &d
        ));
        assert!(!on(
            json!({"$or": [{"data.currency": "USD"}, {"data.status": "open"}]}),
            &d
        ));
        assert!(!on(json!({"$not": big_eur.clone()}), &d));
        assert!(on(json!({"$not": {"$not": big_eur}}), &d));
        assert!(on(json!({"$not": {"data.missing": 1}}), &d));
        // Several keys in one object all hold, combinators among them.
        assert!(on(
            json!({"data.status": "paid", "$or": [{"data.amount": 1}, {"data.paid": true}]}),
            &d
        ));
        assert!(!on(
            json!({"data.status": "open", "$or": [{"data.amount": 1}, {"data.paid": true}]}),
            &d
        ));
        let nested = json!({"$or": [
            {"$and": [{"type": {"$startsWith": "invoice."}}, {"$not": {"data.customer.tier": {"$in": ["free", "trial"]}}}]},
            {"data.lines.0.qty": {"$gte": 10}}
        ]});
        assert!(on(nested.clone(), &d));
        assert!(!passes(nested.clone(), "order.paid", d.clone()));
        assert!(passes(
            nested,
            "order.paid",
            json!({"lines": [{"qty": 10}]})
        ));
        assert!(on(json!({}), &d), "an empty filter passes everything");
        assert!(!Filter::nothing().matches(&Envelope::new("t", &d)));
    }

    #[test]
    fn refusals_point_at_the_bad_part() {
        for (filter, want) in [
            (
                json!({"$and": [{}, {"data.amount": {"$gtt": 1}}]}),
                "filter.$and[1].data.amount: unknown operator $gtt",
            ),
            (
                json!({"data.amount": {"$in": 5}}),
                "filter.data.amount.$in: takes an array",
            ),
            (
                json!({"data.amount": {"$nin": {}}}),
                "filter.data.amount.$nin: takes an array",
            ),
            (
                json!({"data.amount": {"$gt": true}}),
                "filter.data.amount.$gt: takes a number or a string",
            ),
            (
                json!({"data.amount": {"$lte": null}}),
                "filter.data.amount.$lte: takes a number or a string",
            ),
            (
                json!({"data.x": {"$exists": "yes"}}),
                "filter.data.x.$exists: takes true or false",
            ),
            (
                json!({"type": {"$startsWith": 1}}),
                "filter.type.$startsWith: takes a string",
            ),
            (
                json!({"type": {"$endsWith": null}}),
                "filter.type.$endsWith: takes a string",
            ),
            (
                json!({"$or": []}),
                "filter.$or: takes a non-empty array of conditions",
            ),
            (
                json!({"$and": {}}),
                "filter.$and: takes a non-empty array of conditions",
            ),
            (
                json!({"$or": [{"type": "a"}, 3]}),
                "filter.$or[1]: must be an object (a condition)",
            ),
            (
                json!({"$not": [{"type": "a"}]}),
                "filter.$not: takes an object (a condition)",
            ),
            (
                json!({"$not": {"$nor": []}}),
                "filter.$not: unknown operator $nor (conditions take $and, $or, $not or paths)",
            ),
            (
                json!({"amount": {"$gt": 1}}),
                "filter.amount: unknown field \"amount\": paths start with type or data (as in data.amount)",
            ),
            (
                json!({"type.x": 1}),
                "filter.type.x: type is a string: nothing is below it",
            ),
            (
                json!({"data..x": 1}),
                "filter.data..x: a path has no empty segments",
            ),
            (
                json!({"data.": 1}),
                "filter.data.: a path has no empty segments",
            ),
            (
                json!({"": 1}),
                "filter.: unknown field \"\": paths start with type or data (as in data.)",
            ),
            (
                json!([]),
                "filter: must be an object, such as {\"data.amount\": {\"$gt\": 100}}",
            ),
            (
                json!("x"),
                "filter: must be an object, such as {\"data.amount\": {\"$gt\": 100}}",
            ),
        ] {
            assert_eq!(refusal(filter), want);
        }
        assert!(refusal(json!({"$gt": 1})).starts_with("filter: $gt goes under a path"));
        assert!(
            refusal(json!({"data.x": {"$not": {"$eq": 1}}}))
                .starts_with("filter.data.x: $not combines conditions")
        );
        assert!(
            refusal(json!({"data.x": {"$gt": 1, "y": 2}}))
                .starts_with("filter.data.x: mixes operators with the plain key \"y\"")
        );
    }

    #[test]
    fn size_and_depth_are_bounded() {
        // Eight levels pass, nine do not.
        let mut deep = json!({"data.x": {"$in": [1]}}); // 3 levels
        for _ in 0..5 {
            deep = json!({"$not": deep});
        }
        assert!(Filter::compile(&deep).is_ok());
        let deeper = json!({"$not": deep});
        assert_eq!(refusal(deeper), "filter: nested more than 8 levels deep");
        assert!(refusal(json!({"data.x": [[[[[[[[1]]]]]]]]})).contains("nested more than 8"));
        // Exactly the limit passes, one byte more does not.
        let pad = MAX_FILTER_BYTES - r#"{"data.s":""}"#.len();
        let at_limit = json!({"data.s": "x".repeat(pad)});
        assert_eq!(
            serde_json::to_vec(&at_limit).unwrap().len(),
            MAX_FILTER_BYTES
        );
        assert!(Filter::compile(&at_limit).is_ok());
        let over = json!({"data.s": "x".repeat(pad + 1)});
        assert_eq!(
            refusal(over),
            format!(
                "filter: {} bytes of JSON, more than the {MAX_FILTER_BYTES} allowed",
                MAX_FILTER_BYTES + 1
            )
        );
        // A value far deeper than serde_json would parse is refused without
        // recursing into it.
        let mut abyss = json!(1);
        for _ in 0..10_000 {
            abyss = Value::Array(vec![abyss]);
        }
        assert!(deeper_than(&abyss, MAX_FILTER_DEPTH));
        // (Dropping it recursively would overflow the stack.)
        std::mem::forget(abyss);
    }

    /// Any JSON value, with keys and strings drawn mostly from the filter
    /// vocabulary so that many generated filters compile.
    fn json_value() -> impl Strategy<Value = Value> {
        let vocabulary: Vec<&'static str> = OPERATORS
            .iter()
            .chain(COMBINATORS.iter())
            .copied()
            .chain([
                "$nor", "type", "data", "data.a", "data.a.b", "data.0", "data.a.1", "data..a", "a",
                "b", "0", "1", "",
            ])
            .collect();
        let words = prop::sample::select(vocabulary).prop_map(String::from);
        let key = prop_oneof![4 => words.clone(), 1 => any::<String>()];
        let string = prop_oneof![3 => words, 1 => any::<String>()];
        let number = prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            (-3i64..3).prop_map(Value::from),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            number,
            string.prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 48, 5, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Few, small values, so that filters and data often meet.
    fn scalar() -> impl Strategy<Value = Value> + Clone {
        prop_oneof![
            (-3i64..3).prop_map(Value::from),
            (-3.0f64..3.0).prop_map(Value::from),
            prop::sample::select(vec!["a", "b", "ab", "", "type", "$eq"]).prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    /// Event data with the keys the generated filters use.
    fn data_value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec!["a", "b", "0", "x"]).prop_map(String::from),
                    inner,
                    0..3
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Filters built from the grammar (most compile), now and then with a
    /// bad path, operator or operand, or any value where a condition goes.
    fn filter_value() -> impl Strategy<Value = Value> {
        let path = prop_oneof![
            8 => prop::sample::select(vec![
                "type", "data", "data.a", "data.b", "data.a.b", "data.a.0", "data.0",
                "data.a.1.b", "data.x",
            ]),
            1 => prop::sample::select(vec!["data..a", "amount", "type.a", ""]),
        ];
        let operand = move |op: &str| -> BoxedStrategy<Value> {
            let fitting = match op {
                "$in" | "$nin" => prop::collection::vec(scalar(), 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
                "$exists" => any::<bool>().prop_map(Value::Bool).boxed(),
                _ => scalar().boxed(),
            };
            prop_oneof![8 => fitting, 1 => json_value()].boxed()
        };
        let op = prop_oneof![
            8 => prop::sample::select(OPERATORS.to_vec()),
            1 => prop::sample::select(vec!["$gtt", "$not", "x"]),
        ];
        let test = prop_oneof![
            (path.clone(), prop_oneof![scalar(), data_value()]).prop_map(|(p, v)| json!({ p: v })),
            (path, op)
                .prop_flat_map(move |(p, op)| (Just(p), Just(op), operand(op)))
                .prop_map(|(p, op, v)| json!({ p: { op: v } })),
        ];
        test.prop_recursive(4, 24, 3, |inner| {
            let conditions = prop_oneof![
                8 => prop::collection::vec(inner.clone(), 1..3),
                1 => Just(Vec::new()),
            ];
            prop_oneof![
                8 => conditions.clone().prop_map(|c| json!({"$and": c})),
                8 => conditions.prop_map(|c| json!({"$or": c})),
                8 => inner.clone().prop_map(|c| json!({"$not": c})),
                8 => (inner.clone(), inner).prop_map(|(mut a, b)| {
                    if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
                        a.extend(b.clone());
                    }
                    a
                }),
                1 => json_value(),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Checking never panics, nor does matching a filter that compiled,
        /// on any event; and `$not` is the negation.
        #[test]
        fn checking_and_matching_never_panic(
            filter in prop_oneof![1 => json_value(), 3 => filter_value()],
            data in prop_oneof![json_value(), data_value()],
            event_type in prop_oneof![Just("a".to_string()), any::<String>()],
        ) {
            if let Ok(f) = Filter::compile(&filter) {
                let envelope = Envelope::new(&event_type, &data);
                let passed = f.matches(&envelope);
                if let Ok(not) = Filter::compile(&json!({"$not": filter})) {
                    prop_assert_eq!(not.matches(&envelope), !passed);
                }
            }
        }

        /// A compiled operator filter of generated parts agrees with the
        /// documented meaning of each operator.
        #[test]
        fn operators_mean_what_the_docs_say(value in json_value(), operand in json_value(), present in any::<bool>()) {
            let data = if present { json!({"v": value}) } else { json!({}) };
            let found = data.get("v");
            for op in OPERATORS {
                let Ok(f) = Filter::compile(&json!({"data.v": {op: operand.clone()}})) else {
                    continue;
                };
                let got = f.matches(&Envelope::new("t", &data));
                let want = match (op, found) {
                    ("$exists", v) => operand.as_bool() == Some(v.is_some()),
                    ("$neq" | "$nin", None) => true,
                    (_, None) => false,
                    ("$eq", Some(v)) => json_eq(v, &operand),
                    ("$neq", Some(v)) => !json_eq(v, &operand),
                    ("$in", Some(v)) => operand.as_array().unwrap().iter().any(|x| json_eq(v, x)),
                    ("$nin", Some(v)) => !operand.as_array().unwrap().iter().any(|x| json_eq(v, x)),
                    ("$startsWith", Some(v)) => v.as_str().is_some_and(|s| s.starts_with(operand.as_str().unwrap())),
                    ("$endsWith", Some(v)) => v.as_str().is_some_and(|s| s.ends_with(operand.as_str().unwrap())),
                    (cmp, Some(v)) => match compare(v, &operand) {
                        None => false,
                        Some(o) => match cmp {
                            "$gt" => o.is_gt(),
                            "$gte" => o.is_ge(),
                            "$lt" => o.is_lt(),
                            _ => o.is_le(),
                        },
                    },
                };
                prop_assert_eq!(got, want, "{} {}", op, operand);
            }
        }

        /// Integers and floats order as on the number line, exactly.
        #[test]
        fn numbers_order_by_value(a in any::<i64>(), b in -1e19f64..1e19) {
            let (x, y) = (serde_json::Number::from(a), serde_json::Number::from_f64(b).unwrap());
            // |b| < 1e19: its floor converts to i128 exactly.
            let (a, floor) = (i128::from(a), b.floor() as i128);
            let want = if b.fract() == 0.0 {
                a.cmp(&floor)
            } else if a <= floor {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            prop_assert_eq!(number_cmp(&x, &y), want);
            prop_assert_eq!(number_cmp(&y, &x), want.reverse());
        }
    }
}
