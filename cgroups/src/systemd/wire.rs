//! The D-Bus wire format (the "D-Bus Specification", sections Message Protocol and Type
//! System): marshalling of the few types systemd's unit API takes, and unmarshalling of any
//! reply or signal into a generic [`Decoded`] tree.
//!
//! Rules that matter here: every value is aligned to its own size (byte 1, bool/int32/uint32
//! and string/array lengths 4, int64/uint64 and structs 8), relative to the start of the
//! message; a string is a uint32 length, the bytes and a NUL; a signature is a byte length, the
//! bytes and a NUL; an array is a uint32 byte length (not counting the padding to its first
//! element) followed by its elements; a variant is a signature followed by one value.

/// A value runr sends: exactly the types systemd's StartTransientUnit, SetUnitProperties,
/// StopUnit, ResetFailedUnit and Properties.Get take (and AddMatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// `b`
    Bool(bool),
    /// `u`
    U32(u32),
    /// `t`
    U64(u64),
    /// `s`
    Str(String),
    /// `ay` (systemd's CPU and NUMA node masks)
    Bytes(Vec<u8>),
    /// `as`
    StrArray(Vec<String>),
    /// `au` (PIDs)
    U32Array(Vec<u32>),
    /// `a(ss)` (DeviceAllow: path, permissions)
    PairArray(Vec<(String, String)>),
    /// `a(sv)` (unit properties)
    Properties(Vec<(String, Value)>),
    /// `a(sa(sv))` (StartTransientUnit's auxiliary units)
    AuxUnits(Vec<(String, Vec<(String, Value)>)>),
}

impl Value {
    /// The D-Bus signature of this value.
    pub(crate) fn signature(&self) -> &'static str {
        match self {
            Value::Bool(_) => "b",
            Value::U32(_) => "u",
            Value::U64(_) => "t",
            Value::Str(_) => "s",
            Value::Bytes(_) => "ay",
            Value::StrArray(_) => "as",
            Value::U32Array(_) => "au",
            Value::PairArray(_) => "a(ss)",
            Value::Properties(_) => "a(sv)",
            Value::AuxUnits(_) => "a(sa(sv))",
        }
    }
}

/// A little-endian message being marshalled.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// `s` and `o`.
    pub(crate) fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// `g`.
    pub(crate) fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// An array whose elements have alignment `elem_align`, written by `body`.
    pub(crate) fn array(&mut self, elem_align: usize, body: impl FnOnce(&mut Writer)) {
        self.align(4);
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.align(elem_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }

    fn properties(&mut self, props: &[(String, Value)]) {
        self.array(8, |w| {
            for (name, v) in props {
                w.align(8);
                w.str(name);
                w.sig(v.signature());
                w.value(v);
            }
        });
    }

    pub(crate) fn value(&mut self, v: &Value) {
        match v {
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U32(n) => self.u32(*n),
            Value::U64(n) => self.u64(*n),
            Value::Str(s) => self.str(s),
            Value::Bytes(b) => self.array(1, |w| w.buf.extend_from_slice(b)),
            Value::StrArray(v) => self.array(4, |w| v.iter().for_each(|s| w.str(s))),
            Value::U32Array(v) => self.array(4, |w| v.iter().for_each(|n| w.u32(*n))),
            Value::PairArray(v) => self.array(8, |w| {
                for (a, b) in v {
                    w.align(8);
                    w.str(a);
                    w.str(b);
                }
            }),
            Value::Properties(p) => self.properties(p),
            Value::AuxUnits(units) => self.array(8, |w| {
                for (name, props) in units {
                    w.align(8);
                    w.str(name);
                    w.properties(props);
                }
            }),
        }
    }
}

/// Any value received, by type class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// `y`, `n`, `q`, `u`, `t`, `h` (and `b` as 0/1).
    Unsigned(u64),
    /// `n`, `i`, `x`.
    Signed(i64),
    /// `d`, as its bits.
    Double(u64),
    /// `s`, `o`, `g`.
    Str(String),
    /// `a…` (a dict is an array of two-field structs).
    Array(Vec<Decoded>),
    /// `(…)` and `{…}`.
    Struct(Vec<Decoded>),
    /// `v`.
    Variant(Box<Decoded>),
}

impl Decoded {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Decoded::Str(s) => Some(s),
            Decoded::Variant(v) => v.as_str(),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Decoded::Unsigned(n) => Some(*n),
            Decoded::Variant(v) => v.as_u64(),
            _ => None,
        }
    }
}

/// A malformed message (reported with the offset where reading stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub String);

type Res<T> = std::result::Result<T, Malformed>;

/// Reads values from a message; offsets are relative to the message start (for alignment).
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pub(crate) pos: usize,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], big_endian: bool) -> Self {
        Reader {
            buf,
            pos: 0,
            big_endian,
        }
    }

    fn bad<T>(&self, what: &str) -> Res<T> {
        Err(Malformed(format!("{what} at offset {}", self.pos)))
    }

    pub(crate) fn align(&mut self, n: usize) -> Res<()> {
        let to = self.pos.div_ceil(n) * n;
        if to > self.buf.len() {
            return self.bad("padding past the end");
        }
        self.pos = to;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        let Some(s) = self.buf.get(self.pos..self.pos + n) else {
            return self.bad("value past the end");
        };
        self.pos += n;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Res<[u8; N]> {
        self.align(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        if self.big_endian {
            out.reverse();
        }
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_le_bytes(self.fixed::<4>()?))
    }

    fn u64(&mut self) -> Res<u64> {
        Ok(u64::from_le_bytes(self.fixed::<8>()?))
    }

    fn str(&mut self) -> Res<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len + 1)?;
        String::from_utf8(bytes[..len].to_vec()).or_else(|_| self.bad("string not UTF-8"))
    }

    pub(crate) fn sig(&mut self) -> Res<String> {
        let len = self.u8()? as usize;
        let bytes = self.take(len + 1)?;
        String::from_utf8(bytes[..len].to_vec()).or_else(|_| self.bad("signature not UTF-8"))
    }

    /// Every value of the signature `sig`, in order.
    pub(crate) fn values(&mut self, sig: &str) -> Res<Vec<Decoded>> {
        let mut out = Vec::new();
        let mut rest = sig.as_bytes();
        while !rest.is_empty() {
            let (one, tail) =
                split_one(rest).ok_or_else(|| Malformed(format!("bad signature {sig:?}")))?;
            out.push(self.value(one)?);
            rest = tail;
        }
        Ok(out)
    }

    /// One value of the single complete type `sig`.
    fn value(&mut self, sig: &[u8]) -> Res<Decoded> {
        Ok(match sig[0] {
            b'y' => Decoded::Unsigned(u64::from(self.u8()?)),
            b'b' | b'u' | b'h' => Decoded::Unsigned(u64::from(self.u32()?)),
            b'q' => Decoded::Unsigned(u64::from(u16::from_le_bytes(self.fixed::<2>()?))),
            b'n' => Decoded::Signed(i64::from(i16::from_le_bytes(self.fixed::<2>()?))),
            b'i' => Decoded::Signed(i64::from(i32::from_le_bytes(self.fixed::<4>()?))),
            b't' => Decoded::Unsigned(self.u64()?),
            b'x' => Decoded::Signed(i64::from_le_bytes(self.fixed::<8>()?)),
            b'd' => Decoded::Double(self.u64()?),
            b's' | b'o' => Decoded::Str(self.str()?),
            b'g' => Decoded::Str(self.sig()?),
            b'v' => {
                let inner = self.sig()?;
                let mut vals = self.values(&inner)?;
                if vals.len() != 1 {
                    return self.bad("variant without exactly one value");
                }
                Decoded::Variant(Box::new(vals.remove(0)))
            }
            b'a' => self.array(&sig[1..])?,
            b'(' | b'{' => {
                self.align(8)?;
                let inner = std::str::from_utf8(&sig[1..sig.len() - 1]).unwrap_or("");
                Decoded::Struct(self.values(inner)?)
            }
            _ => return self.bad("unknown type code"),
        })
    }

    fn array(&mut self, elem: &[u8]) -> Res<Decoded> {
        let len = self.u32()? as usize;
        self.align(alignment(elem[0]))?;
        let end = self.pos + len;
        if end > self.buf.len() {
            return self.bad("array past the end");
        }
        let mut items = Vec::new();
        while self.pos < end {
            items.push(self.value(elem)?);
        }
        Ok(Decoded::Array(items))
    }
}

fn alignment(code: u8) -> usize {
    match code {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b't' | b'x' | b'd' | b'(' | b'{' => 8,
        _ => 4,
    }
}

/// Split the first complete type off a signature.
fn split_one(sig: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = match *sig.first()? {
        b'a' => 1 + split_one(&sig[1..])?.0.len(),
        open @ (b'(' | b'{') => {
            let close = if open == b'(' { b')' } else { b'}' };
            let mut depth = 0usize;
            let mut i = 0;
            loop {
                let c = *sig.get(i)?;
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                    if depth == 0 {
                        break i + 1;
                    }
                }
                i += 1;
            }
        }
        _ => 1,
    };
    Some(sig.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value) -> Vec<u8> {
        let mut w = Writer::default();
        w.value(v);
        w.buf
    }

    #[test]
    fn basic_types_are_aligned_and_little_endian() {
        assert_eq!(bytes(&Value::Bool(true)), [1, 0, 0, 0]);
        assert_eq!(bytes(&Value::U64(0x0102)), [2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes(&Value::Str("ab".into())), [2, 0, 0, 0, b'a', b'b', 0]);
        let mut w = Writer::default();
        w.u8(7);
        w.value(&Value::U32(1));
        assert_eq!(w.buf, [7, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn arrays_count_bytes_without_the_padding_to_their_first_element() {
        // au [1, 2]: length 8, then the two values.
        assert_eq!(
            bytes(&Value::U32Array(vec![1, 2])),
            [8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]
        );
        // ay: byte elements, no padding.
        assert_eq!(bytes(&Value::Bytes(vec![0x0f])), [1, 0, 0, 0, 0x0f]);
        // a(sv) with one ("A", b true): length 4, pad to 8, struct: "A", sig "b", pad, 1.
        let props = Value::Properties(vec![("A".into(), Value::Bool(true))]);
        assert_eq!(
            bytes(&props),
            [
                16, 0, 0, 0, 0, 0, 0, 0, // length 16, padding to 8
                1, 0, 0, 0, b'A', 0, // "A"
                1, b'b', 0, // signature "b"
                0, 0, 0, // padding to 4
                1, 0, 0, 0, // true
            ]
        );
        // An empty a(ss) still pads to the (absent) first struct.
        assert_eq!(bytes(&Value::PairArray(vec![])), [0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn every_sent_type_reads_back() {
        let props = Value::Properties(vec![
            ("Delegate".into(), Value::Bool(true)),
            ("PIDs".into(), Value::U32Array(vec![42])),
            ("MemoryMax".into(), Value::U64(u64::MAX)),
            ("Slice".into(), Value::Str("system.slice".into())),
            ("AllowedCPUs".into(), Value::Bytes(vec![3])),
            ("Wants".into(), Value::StrArray(vec!["a.slice".into()])),
            (
                "DeviceAllow".into(),
                Value::PairArray(vec![("/dev/char/1:3".into(), "rwm".into())]),
            ),
        ]);
        let aux = Value::AuxUnits(vec![("x.scope".into(), vec![])]);
        let mut w = Writer::default();
        w.value(&Value::Str("runr-1.scope".into()));
        w.value(&props);
        w.value(&aux);
        let got = Reader::new(&w.buf, false)
            .values("sa(sv)a(sa(sv))")
            .unwrap();
        assert_eq!(got[0], Decoded::Str("runr-1.scope".into()));
        let Decoded::Array(items) = &got[1] else {
            panic!("{got:?}")
        };
        assert_eq!(items.len(), 7);
        let field = |i: usize| match &items[i] {
            Decoded::Struct(f) => f[1].clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(0).as_u64(), Some(1));
        assert_eq!(
            field(1),
            Decoded::Variant(Box::new(Decoded::Array(vec![Decoded::Unsigned(42)])))
        );
        assert_eq!(field(2).as_u64(), Some(u64::MAX));
        assert_eq!(field(3).as_str(), Some("system.slice"));
        assert_eq!(
            field(6),
            Decoded::Variant(Box::new(Decoded::Array(vec![Decoded::Struct(vec![
                Decoded::Str("/dev/char/1:3".into()),
                Decoded::Str("rwm".into())
            ])])))
        );
        assert_eq!(
            got[2],
            Decoded::Array(vec![Decoded::Struct(vec![
                Decoded::Str("x.scope".into()),
                Decoded::Array(vec![])
            ])])
        );
    }

    #[test]
    fn big_endian_and_truncated_input() {
        let be = [0, 0, 0, 2, b'o', b'k', 0];
        assert_eq!(
            Reader::new(&be, true).values("s").unwrap(),
            [Decoded::Str("ok".into())]
        );
        assert!(Reader::new(&[5, 0, 0, 0, b'a'], false).values("s").is_err());
        assert!(Reader::new(&[], false).values("(u").is_err());
    }
}
