package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
)

// encoding is how one column's values are written in ClickHouse's RowBinary
// format. It follows the column's declared type, not the Go value's type,
// so a caller passing an int for a UInt16 column gets the right bytes (or a
// range error) instead of a shifted row.
type encoding uint8

const (
	encString encoding = iota + 1
	encUInt8
	encUInt16
	encUInt32
	encUInt64
	encInt8
	encInt16
	encInt32
	encInt64
	encFloat32
	encFloat64
	encDateTime
)

// encodingOf maps a ClickHouse column type to its RowBinary encoding.
// LowCardinality changes the storage, not the wire format.
func encodingOf(typ string) (encoding, error) {
	t := typ
	if inner, ok := strings.CutPrefix(t, "LowCardinality("); ok {
		t = strings.TrimSuffix(inner, ")")
	}
	switch {
	case t == "String":
		return encString, nil
	case t == "UInt8" || t == "Bool":
		return encUInt8, nil
	case t == "UInt16":
		return encUInt16, nil
	case t == "UInt32":
		return encUInt32, nil
	case t == "UInt64":
		return encUInt64, nil
	case t == "Int8":
		return encInt8, nil
	case t == "Int16":
		return encInt16, nil
	case t == "Int32":
		return encInt32, nil
	case t == "Int64":
		return encInt64, nil
	case t == "Float32":
		return encFloat32, nil
	case t == "Float64":
		return encFloat64, nil
	case t == "DateTime" || strings.HasPrefix(t, "DateTime("):
		return encDateTime, nil
	}
	return 0, fmt.Errorf("store: no RowBinary encoding for column type %s", typ)
}

// integer returns v as a signed or unsigned 64-bit integer.
func integer(v any) (i int64, u uint64, unsigned, ok bool) {
	switch x := v.(type) {
	case int:
		return int64(x), 0, false, true
	case int8:
		return int64(x), 0, false, true
	case int16:
		return int64(x), 0, false, true
	case int32:
		return int64(x), 0, false, true
	case int64:
		return x, 0, false, true
	case uint:
		return 0, uint64(x), true, true
	case uint8:
		return 0, uint64(x), true, true
	case uint16:
		return 0, uint64(x), true, true
	case uint32:
		return 0, uint64(x), true, true
	case uint64:
		return 0, x, true, true
	case bool:
		if x {
			return 1, 0, false, true
		}
		return 0, 0, false, true
	}
	return 0, 0, false, false
}

// appendRowBinary appends v encoded as enc.
func appendRowBinary(dst []byte, enc encoding, v any) ([]byte, error) {
	switch enc {
	case encString:
		switch x := v.(type) {
		case string:
			dst = binary.AppendUvarint(dst, uint64(len(x)))
			return append(dst, x...), nil
		case []byte:
			dst = binary.AppendUvarint(dst, uint64(len(x)))
			return append(dst, x...), nil
		}
		return dst, fmt.Errorf("store: %T for a String column", v)
	case encDateTime:
		t, ok := v.(time.Time)
		if !ok {
			return dst, fmt.Errorf("store: %T for a DateTime column", v)
		}
		s := t.Unix()
		if s < 0 || s > math.MaxUint32 {
			return dst, fmt.Errorf("store: time %s outside DateTime's range", t.UTC().Format(time.RFC3339))
		}
		return binary.LittleEndian.AppendUint32(dst, uint32(s)), nil
	case encFloat32, encFloat64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			i, u, unsigned, ok := integer(v)
			if !ok {
				return dst, fmt.Errorf("store: %T for a Float column", v)
			}
			f = float64(i)
			if unsigned {
				f = float64(u)
			}
		}
		if enc == encFloat32 {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	}
	i, u, unsigned, ok := integer(v)
	if !ok {
		return dst, fmt.Errorf("store: %T for an integer column", v)
	}
	var bits uint8
	signed := enc >= encInt8 && enc <= encInt64
	switch enc {
	case encUInt8, encInt8:
		bits = 8
	case encUInt16, encInt16:
		bits = 16
	case encUInt32, encInt32:
		bits = 32
	default:
		bits = 64
	}
	var w uint64
	switch {
	case signed && unsigned:
		if u > uint64(math.MaxInt64)>>(64-bits) {
			return dst, fmt.Errorf("store: %d overflows Int%d", u, bits)
		}
		w = u
	case signed:
		if bits < 64 && (i < -(1<<(bits-1)) || i >= 1<<(bits-1)) {
			return dst, fmt.Errorf("store: %d overflows Int%d", i, bits)
		}
		w = uint64(i)
	case unsigned:
		if bits < 64 && u >= 1<<bits {
			return dst, fmt.Errorf("store: %d overflows UInt%d", u, bits)
		}
		w = u
	default:
		if i < 0 || (bits < 64 && i >= 1<<bits) {
			return dst, fmt.Errorf("store: %d out of UInt%d's range", i, bits)
		}
		w = uint64(i)
	}
	switch bits {
	case 8:
		return append(dst, byte(w)), nil
	case 16:
		return binary.LittleEndian.AppendUint16(dst, uint16(w)), nil
	case 32:
		return binary.LittleEndian.AppendUint32(dst, uint32(w)), nil
	}
	return binary.LittleEndian.AppendUint64(dst, w), nil
}

// splitTable splits "db.table" for a system.columns lookup.
func splitTable(table string) (db, name string) {
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		return table[:i], table[i+1:]
	}
	return "", table
}
