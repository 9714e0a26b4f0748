package asl

import "fmt"

// Distributed Map fields: ItemReader, ItemBatcher and ResultWriter, valid
// only when ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED.

// Item reader and result writer resources the local executor serves.
const (
	ResourceS3ListObjectsV2 = "arn:aws:states:::s3:listObjectsV2"
	ResourceS3GetObject     = "arn:aws:states:::s3:getObject"
	ResourceS3PutObject     = "arn:aws:states:::s3:putObject"
)

// ItemReader is a Distributed Map's ItemReader.
type ItemReader struct {
	Resource string
	// Parameters (JSONPath) or JArguments (JSONata) name the bucket and
	// prefix or key.
	Parameters *Template
	JArguments *JSONataValue
	// InputType of an s3:getObject reader: JSON, JSONL or CSV.
	InputType string
	// CSVHeaderLocation is FIRST_ROW (default) or GIVEN (CSVHeaders).
	CSVHeaderLocation string
	CSVHeaders        []string
	CSVDelimiter      rune
	// MaxItems limits the items read (0: all); MaxItemsPath reads it.
	MaxItems     int64
	MaxItemsPath *Ref
}

// ItemBatcher is a Distributed Map's ItemBatcher.
type ItemBatcher struct {
	MaxItemsPerBatch          int64
	MaxItemsPerBatchPath      *Ref
	MaxInputBytesPerBatch     int64
	MaxInputBytesPerBatchPath *Ref
	BatchInput                *Template
	JBatchInput               *JSONataValue
}

// ResultWriter is a Distributed Map's ResultWriter.
type ResultWriter struct {
	Resource   string
	Parameters *Template
	JArguments *JSONataValue
}

// MaxBatchBytes is the largest MaxInputBytesPerBatch (256 KiB).
const MaxBatchBytes = 256 * 1024

// params compiles an integration's Parameters or Arguments.
func (f *fieldReader) params(o *Object, loc string) (*Template, *JSONataValue) {
	if f.st.JSONata {
		if _, ok := o.Get("Parameters"); ok {
			f.p.add(loc, "field \"Parameters\" is not allowed when QueryLanguage is JSONata")
		}
		v, ok := o.Get("Arguments")
		if !ok {
			return nil, nil
		}
		jv, err := CompileJSONataValue(v)
		if err != nil {
			f.p.add(loc+".Arguments", "%v", err)
		}
		return nil, jv
	}
	if _, ok := o.Get("Arguments"); ok {
		f.p.add(loc, "field \"Arguments\" is only allowed when QueryLanguage is JSONata")
	}
	v, ok := o.Get("Parameters")
	if !ok {
		return nil, nil
	}
	t, err := CompileTemplate(v)
	if err != nil {
		f.p.add(loc+".Parameters", "%v", err)
	}
	return t, nil
}

func (f *fieldReader) object(k string) (*Object, string, bool) {
	v, ok := f.o.Get(k)
	if !ok {
		return nil, "", false
	}
	loc := f.loc + "." + k
	o, isObj := v.(*Object)
	if !isObj {
		f.p.add(loc, "must be an object")
		return nil, loc, false
	}
	return o, loc, true
}

// count reads a positive integer field of o (or its *Path twin).
func (f *fieldReader) count(o *Object, loc, k string, max int64) (int64, *Ref) {
	if v, ok := o.Get(k); ok {
		n, isInt := integerValue(v)
		if !isInt || n < 0 || (max > 0 && n > max) {
			if max > 0 {
				f.p.add(loc+"."+k, "must be an integer between 0 and %d", max)
			} else {
				f.p.add(loc+"."+k, "must be a non-negative integer")
			}
		}
		return n, nil
	}
	v, ok := o.Get(k + "Path")
	if !ok {
		return 0, nil
	}
	s, _ := v.(string)
	r, err := CompileRef(s)
	if err != nil {
		f.p.add(loc+"."+k+"Path", "%v", err)
	}
	return 0, r
}

func (f *fieldReader) distributedFields(distributed bool) {
	for _, k := range []string{"ItemReader", "ItemBatcher", "ResultWriter"} {
		if _, ok := f.o.Get(k); ok && !distributed {
			f.p.add(f.loc+"."+k, "is only allowed in a Map whose ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED")
		}
	}
	if o, loc, ok := f.object("ItemReader"); ok {
		r := &ItemReader{CSVDelimiter: ','}
		r.Resource, _ = o.Val("Resource").(string)
		for _, k := range o.keys {
			switch k {
			case "Resource", "Parameters", "Arguments", "ReaderConfig":
			default:
				f.p.add(loc, "unknown field %q", k)
			}
		}
		r.Parameters, r.JArguments = f.params(o, loc)
		if rc, ok := o.Val("ReaderConfig").(*Object); ok {
			rl := loc + ".ReaderConfig"
			for _, k := range rc.keys {
				switch k {
				case "InputType":
					r.InputType, _ = rc.Val(k).(string)
				case "CSVHeaderLocation":
					r.CSVHeaderLocation, _ = rc.Val(k).(string)
					if r.CSVHeaderLocation != "FIRST_ROW" && r.CSVHeaderLocation != "GIVEN" {
						f.p.add(rl+".CSVHeaderLocation", "must be FIRST_ROW or GIVEN")
					}
				case "CSVHeaders":
					arr, _ := rc.Val(k).([]any)
					for _, h := range arr {
						s, ok := h.(string)
						if !ok {
							f.p.add(rl+".CSVHeaders", "must be an array of strings")
							break
						}
						r.CSVHeaders = append(r.CSVHeaders, s)
					}
				case "CSVDelimiter":
					switch d, _ := rc.Val(k).(string); d {
					case "COMMA":
					case "PIPE":
						r.CSVDelimiter = '|'
					case "SEMICOLON":
						r.CSVDelimiter = ';'
					case "SPACE":
						r.CSVDelimiter = ' '
					case "TAB":
						r.CSVDelimiter = '\t'
					default:
						f.p.add(rl+".CSVDelimiter", "must be COMMA, PIPE, SEMICOLON, SPACE or TAB")
					}
				case "MaxItems", "MaxItemsPath":
				default:
					f.p.add(rl, "unknown field %q", k)
				}
			}
			r.MaxItems, r.MaxItemsPath = f.count(rc, rl, "MaxItems", 100000000)
		}
		switch r.Resource {
		case ResourceS3ListObjectsV2:
			if r.InputType != "" {
				f.p.add(loc+".ReaderConfig.InputType", "is not used with %s", r.Resource)
			}
		case ResourceS3GetObject:
			switch r.InputType {
			case "JSON", "JSONL":
			case "CSV":
				if r.CSVHeaderLocation == "GIVEN" && len(r.CSVHeaders) == 0 {
					f.p.add(loc+".ReaderConfig.CSVHeaders", "must be given when CSVHeaderLocation is GIVEN")
				}
			case "":
				f.p.add(loc+".ReaderConfig.InputType", "is required with %s (JSON, JSONL or CSV)", r.Resource)
			default:
				f.p.add(loc+".ReaderConfig.InputType", "%q is not supported by the local executor (JSON, JSONL or CSV)", r.InputType)
			}
		default:
			f.p.add(loc+".Resource", "%q is not supported by the local executor (%s or %s)", r.Resource, ResourceS3ListObjectsV2, ResourceS3GetObject)
		}
		if r.Parameters == nil && r.JArguments == nil {
			f.p.add(loc, "Parameters (or Arguments) naming the bucket are required")
		}
		f.st.ItemReader = r
	}
	if o, loc, ok := f.object("ItemBatcher"); ok {
		b := &ItemBatcher{}
		for _, k := range o.keys {
			switch k {
			case "MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath":
			case "BatchInput":
				if f.st.JSONata {
					jv, err := CompileJSONataValue(o.Val(k))
					if err != nil {
						f.p.add(loc+".BatchInput", "%v", err)
					}
					b.JBatchInput = jv
					continue
				}
				t, err := CompileTemplate(o.Val(k))
				if err != nil {
					f.p.add(loc+".BatchInput", "%v", err)
				}
				b.BatchInput = t
			default:
				f.p.add(loc, "unknown field %q", k)
			}
		}
		b.MaxItemsPerBatch, b.MaxItemsPerBatchPath = f.count(o, loc, "MaxItemsPerBatch", 0)
		b.MaxInputBytesPerBatch, b.MaxInputBytesPerBatchPath = f.count(o, loc, "MaxInputBytesPerBatch", MaxBatchBytes)
		if b.MaxItemsPerBatch == 0 && b.MaxItemsPerBatchPath == nil && b.MaxInputBytesPerBatch == 0 && b.MaxInputBytesPerBatchPath == nil {
			f.p.add(loc, "needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path)")
		}
		f.st.ItemBatcher = b
	}
	if o, loc, ok := f.object("ResultWriter"); ok {
		w := &ResultWriter{}
		w.Resource, _ = o.Val("Resource").(string)
		for _, k := range o.keys {
			switch k {
			case "Resource", "Parameters", "Arguments":
			case "WriterConfig":
				f.p.add(loc+".WriterConfig", "is not supported by the local executor")
			default:
				f.p.add(loc, "unknown field %q", k)
			}
		}
		if w.Resource != ResourceS3PutObject {
			f.p.add(loc+".Resource", "must be %s", ResourceS3PutObject)
		}
		w.Parameters, w.JArguments = f.params(o, loc)
		if w.Parameters == nil && w.JArguments == nil {
			f.p.add(loc, "Parameters (or Arguments) naming the bucket are required")
		}
		f.st.ResultWriter = w
	}
}

// String names the reader for messages.
func (r *ItemReader) String() string {
	if r.InputType == "" {
		return r.Resource
	}
	return fmt.Sprintf("%s (%s)", r.Resource, r.InputType)
}
