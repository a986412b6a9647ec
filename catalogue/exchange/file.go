package exchange

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// item is one record as it is written: JSON through its fields, CSV through
// cells in the kind's column order.
type item interface {
	cells() []string
}

// writer writes one export file.
type writer struct {
	format Format
	bw     *bufio.Writer
	csv    *csv.Writer
	buf    bytes.Buffer
	enc    *json.Encoder
	n      int
}

func newWriter(kind Kind, format Format, w io.Writer) (*writer, error) {
	out := &writer{format: format, bw: bufio.NewWriterSize(w, 64<<10)}
	if format == JSON {
		out.enc = json.NewEncoder(&out.buf)
		out.enc.SetEscapeHTML(false)
		_, err := fmt.Fprintf(out.bw, "{\"kind\":%q,\"version\":%d,\"items\":[", kind, Version)
		return out, err
	}
	// The byte-order mark makes Excel read the file as UTF-8.
	if _, err := out.bw.WriteString("\uFEFF"); err != nil {
		return nil, err
	}
	out.csv = csv.NewWriter(out.bw)
	out.csv.UseCRLF = true
	cols := columnsOf(kind)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.label
	}
	return out, out.csv.Write(header)
}

func (w *writer) write(it item) error {
	if w.format == CSV {
		cells := it.cells()
		for i, c := range cells {
			cells[i] = guard(c)
		}
		return w.csv.Write(cells)
	}
	w.buf.Reset()
	if w.n > 0 {
		w.buf.WriteByte(',')
	}
	w.buf.WriteByte('\n')
	if err := w.enc.Encode(it); err != nil {
		return err
	}
	w.n++
	_, err := w.bw.Write(bytes.TrimRight(w.buf.Bytes(), "\n"))
	return err
}

// flush hands a page to the underlying writer.
func (w *writer) flush() error {
	if w.csv != nil {
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

func (w *writer) close() error {
	if w.format == JSON {
		if _, err := w.bw.WriteString("\n]}\n"); err != nil {
			return err
		}
	}
	return w.flush()
}

// cells is one CSV row by column key.
type cells struct {
	rec []string
	idx map[string]int
}

// get returns the column's trimmed cell, and whether the file has the
// column.
func (c cells) get(key string) (string, bool) {
	i, ok := c.idx[key]
	if !ok {
		return "", false
	}
	if i >= len(c.rec) {
		return "", true
	}
	return strings.TrimSpace(c.rec[i]), true
}

// envelope is a JSON file.
type envelope struct {
	Kind    Kind              `json:"kind"`
	Version int               `json:"version"`
	Items   []json.RawMessage `json:"items"`
}

// decodeRows reads a file's rows: JSON items into T, CSV rows through
// fromCSV. A row that cannot be read at all gets an error and no T; total
// counts it. Rows are numbered from 1.
func decodeRows[T any](kind Kind, format Format, data []byte, col *collector, fromCSV func(ck check, c cells) T) (rows []T, nums []int, total int, err error) {
	if format == JSON {
		return decodeJSON[T](kind, data, col)
	}
	return decodeCSV(kind, data, col, fromCSV)
}

func decodeJSON[T any](kind Kind, data []byte, col *collector) ([]T, []int, int, error) {
	if !utf8.Valid(data) {
		return nil, nil, 0, errBadInput("文件含有非 UTF-8 编码的文字，请以 UTF-8 编码保存后重新导入。")
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, nil, 0, errBadInput("JSON 文件格式有误（第%d行附近）。", line)
		}
		return nil, nil, 0, errBadInput("JSON 文件应为一个对象：{\"kind\": …, \"version\": 1, \"items\": […]}。")
	}
	if env.Kind != kind {
		return nil, nil, 0, errBadInput("文件中的数据类别为“%s”，与所选的“%s”不一致。", env.Kind, kind)
	}
	if env.Version != Version {
		return nil, nil, 0, errBadInput("不支持的文件版本 %d，应为 %d。", env.Version, Version)
	}
	if len(env.Items) > MaxRows {
		return nil, nil, 0, errBadInput("一次最多导入%d条数据。", MaxRows)
	}
	rows := make([]T, 0, len(env.Items))
	nums := make([]int, 0, len(env.Items))
	for i, raw := range env.Items {
		var v T
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			field, msg := jsonProblem(err, col)
			col.fileErr(i+1, field, msg)
			continue
		}
		rows = append(rows, v)
		nums = append(nums, i+1)
	}
	return rows, nums, len(env.Items), nil
}

// jsonProblem describes why an item could not be decoded.
func jsonProblem(err error, col *collector) (field, msg string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return "", "这一项应为一个 JSON 对象。"
	}
	if errors.As(err, &te) {
		// Fields are named by their column key: guide.materials.copies
		// is the materials column.
		parts := strings.Split(te.Field, ".")
		field = parts[0]
		if field == "guide" && len(parts) > 1 {
			field = parts[1]
		}
		return field, fmt.Sprintf("%s的类型不正确（应为%s）。", col.label(field), jsonType(te.Type.Kind().String()))
	}
	if s := err.Error(); strings.Contains(s, "unknown field") {
		name := strings.Trim(s[strings.Index(s, "unknown field")+len("unknown field"):], " \"")
		return name, fmt.Sprintf("不认识的字段“%s”。", name)
	}
	if strings.Contains(err.Error(), "cannot unmarshal") {
		return "", "这一项应为一个 JSON 对象。"
	}
	return "", "这一项无法读取。"
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "字符串"
	case "int", "int64", "float64", "uint64":
		return "数字"
	case "bool":
		return "true 或 false"
	case "slice":
		return "数组"
	case "struct", "ptr":
		return "对象"
	}
	return kind
}

func decodeCSV[T any](kind Kind, data []byte, col *collector, fromCSV func(ck check, c cells) T) ([]T, []int, int, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, 0, csvError(err)
	}
	idx, err := readHeader(kind, header)
	if err != nil {
		return nil, nil, 0, err
	}
	var rows []T
	var nums []int
	total, row := 0, 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, 0, csvError(err)
		}
		row++
		if blank(rec) {
			// Spreadsheets leave rows of empty cells behind.
			continue
		}
		total++
		if total > MaxRows {
			return nil, nil, 0, errBadInput("一次最多导入%d条数据。", MaxRows)
		}
		if len(rec) < len(header) || !blank(rec[len(header):]) {
			col.fileErr(row, "", fmt.Sprintf("本行有%d列，与表头的%d列不一致。", len(rec), len(header)))
			continue
		}
		ok := true
		for i, c := range rec {
			if !utf8.ValidString(c) {
				col.fileErr(row, keyAt(idx, i), "含有非 UTF-8 编码的文字，请将文件以 UTF-8 编码保存（Excel：另存为“CSV UTF-8”）。")
				ok = false
				break
			}
			rec[i] = unguard(c)
		}
		if !ok {
			continue
		}
		rows = append(rows, fromCSV(check{row, col}, cells{rec: rec, idx: idx}))
		nums = append(nums, row)
	}
	return rows, nums, total, nil
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func keyAt(idx map[string]int, i int) string {
	for k, j := range idx {
		if j == i {
			return k
		}
	}
	return ""
}

func csvError(err error) error {
	if errors.Is(err, io.EOF) {
		return errBadInput("CSV 文件没有表头。")
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errBadInput("CSV 文件第%d行格式有误（引号不配对）。", pe.StartLine)
	}
	return fmt.Errorf("read csv: %w", err)
}

// readHeader maps the header's columns to keys: each cell is a column's key
// or its Chinese label; every required column must be there.
func readHeader(kind Kind, header []string) (map[string]int, error) {
	cols := columnsOf(kind)
	byName := map[string]string{}
	for _, c := range cols {
		byName[normalizeHeader(c.key)] = c.key
		byName[normalizeHeader(c.label)] = c.key
	}
	idx := map[string]int{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, errBadInput("CSV 文件不是 UTF-8 编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后重新导入。")
		}
		h = unguard(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		key, ok := byName[normalizeHeader(h)]
		if !ok {
			return nil, errBadInput("表头第%d列“%s”不是%s文件的列，请对照导入模板。", i+1, h, kindName(kind))
		}
		if _, dup := idx[key]; dup {
			return nil, errBadInput("表头中“%s”列出现了两次。", h)
		}
		idx[key] = i
	}
	for _, c := range cols {
		if _, ok := idx[c.key]; c.required && !ok {
			return nil, errBadInput("表头缺少“%s”列。", c.label)
		}
	}
	return idx, nil
}

func kindName(k Kind) string {
	switch k {
	case KindAgency:
		return "实施主体"
	case KindHall:
		return "服务大厅"
	case KindMatter:
		return "事项"
	}
	return "办事指南"
}
