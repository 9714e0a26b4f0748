package deploy_test

// Offline checks of template.yaml (parsed with goformation) against the
// state machine definition the local executor embeds, and of the definition
// itself with the npm package asl-validator.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/imagerec/imagerec/deploy"
	"github.com/imagerec/imagerec/internal/awslambda"
	"github.com/imagerec/imagerec/internal/citest"
)

// parameters are the values the test deploys with.
var parameters = map[string]any{
	"UploadBucketName":     "example-uploads",
	"ResultBucketName":     "example-results",
	"Engine":               "rekognition",
	"Features":             "all",
	"NotificationEmail":    "",
	"LogRetentionDays":     30,
	"RecognizeConcurrency": 10,
	"FaceCollection":       "family",
	"IndexFaces":           "true",
}

// symbolic resolves intrinsic functions to strings that keep what they
// refer to: Ref to a resource is "ref:Name", GetAtt is "getatt:Name.Attr",
// Sub substitutes the same way, If takes its true branch (the default
// Engine's and the one with content). Parameters not in params come from
// the package's parameters.
func symbolic(params map[string]any) *intrinsics.ProcessorOptions {
	pseudo := map[string]string{
		"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
		"AWS::StackName": "imagerec", "AWS::URLSuffix": "amazonaws.com",
	}
	ref := func(name string) any {
		if v, ok := pseudo[name]; ok {
			return v
		}
		if v, ok := params[name]; ok {
			return v
		}
		if v, ok := parameters[name]; ok {
			return v
		}
		return "ref:" + name
	}
	subRE := regexp.MustCompile(`\$\{([^}]+)\}`)
	return &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		"Ref": func(_ string, in any, _ any) any {
			s, _ := in.(string)
			if s == "AWS::NoValue" {
				return nil
			}
			return ref(s)
		},
		"Fn::GetAtt": func(_ string, in any, _ any) any {
			switch v := in.(type) {
			case []any:
				return fmt.Sprintf("getatt:%v.%v", v[0], v[1])
			case string:
				return "getatt:" + v
			}
			return nil
		},
		"Fn::Sub": func(_ string, in any, _ any) any {
			s, ok := in.(string)
			if !ok {
				return nil
			}
			return subRE.ReplaceAllStringFunc(s, func(m string) string {
				name := m[2 : len(m)-1]
				if strings.Contains(name, ".") {
					return "getatt:" + name
				}
				return fmt.Sprint(ref(name))
			})
		},
		"Fn::If": func(_ string, in any, _ any) any {
			if v, ok := in.([]any); ok && len(v) == 3 {
				return v[1]
			}
			return nil
		},
	}}
}

// parseMu serialises goformation's parser, which registers its YAML tag
// resolvers in a package map on every call (a data race under -race).
var parseMu sync.Mutex

func loadTemplate(t *testing.T) (*cloudformation.Template, []byte) {
	t.Helper()
	parseMu.Lock()
	defer parseMu.Unlock()
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := goformation.ParseYAMLWithOptions(data, symbolic(nil))
	if err != nil {
		t.Fatalf("goformation cannot parse template.yaml: %v", err)
	}
	return tpl, data
}

// deployTemplate is the template as a stack with params would see it:
// the Conditions evaluated and each If taking the branch they choose.
func deployTemplate(t *testing.T, params map[string]any) *cloudformation.Template {
	t.Helper()
	parseMu.Lock()
	defer parseMu.Unlock()
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts := symbolic(params)
	// decode undoes goformation's YAML tag encoding (short-form
	// intrinsics are base64 JSON strings until processed).
	decode := func(v any) any {
		if s, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				var m map[string]any
				if json.Unmarshal(b, &m) == nil && len(m) == 1 {
					return m
				}
			}
		}
		return v
	}
	value := func(v any) string {
		v = decode(v)
		if m, ok := v.(map[string]any); ok {
			if name, ok := m["Ref"].(string); ok {
				if p, ok := params[name]; ok {
					return fmt.Sprint(p)
				}
				return fmt.Sprint(parameters[name])
			}
		}
		return fmt.Sprint(v)
	}
	// goformation's EvaluateConditions mistakes a resource's Condition
	// for the intrinsic; the few functions Conditions use are evaluated
	// here, on the template as written.
	var eval func(conds map[string]any, expr any) bool
	eval = func(conds map[string]any, expr any) bool {
		// goformation reads !Condition X as the bare name X.
		if name, ok := expr.(string); ok && conds[name] != nil {
			return eval(conds, conds[name])
		}
		m, _ := decode(expr).(map[string]any)
		switch {
		case m["Fn::Equals"] != nil:
			args, _ := m["Fn::Equals"].([]any)
			return len(args) == 2 && value(args[0]) == value(args[1])
		case m["Fn::Not"] != nil:
			args, _ := m["Fn::Not"].([]any)
			return len(args) == 1 && !eval(conds, args[0])
		case m["Fn::And"] != nil:
			args, _ := m["Fn::And"].([]any)
			for _, a := range args {
				if !eval(conds, a) {
					return false
				}
			}
			return true
		case m["Condition"] != nil:
			name, _ := m["Condition"].(string)
			return eval(conds, conds[name])
		}
		t.Fatalf("condition %v: not evaluated by this test", expr)
		return false
	}
	opts.IntrinsicHandlerOverrides["Fn::If"] = func(_ string, in any, raw any) any {
		v, ok := in.([]any)
		name, _ := v[0].(string)
		if !ok || len(v) != 3 {
			return nil
		}
		tplMap, _ := raw.(map[string]any)
		conds, _ := tplMap["Conditions"].(map[string]any)
		if _, ok := conds[name]; !ok {
			t.Fatalf("Fn::If on undefined condition %q", name)
		}
		if eval(conds, conds[name]) {
			return v[1]
		}
		return v[2]
	}
	tpl, err := goformation.ParseYAMLWithOptions(data, opts)
	if err != nil {
		t.Fatalf("goformation cannot parse template.yaml: %v", err)
	}
	return tpl
}

// aslTasks returns the Resource of every Task state, nested ones included.
func aslTasks(t *testing.T, def []byte) map[string]string {
	t.Helper()
	var doc struct{ States map[string]json.RawMessage }
	if err := json.Unmarshal(def, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(states map[string]json.RawMessage)
	walk = func(states map[string]json.RawMessage) {
		for name, raw := range states {
			var st struct {
				Type          string
				Resource      string
				Branches      []struct{ States map[string]json.RawMessage }
				Iterator      *struct{ States map[string]json.RawMessage }
				ItemProcessor *struct{ States map[string]json.RawMessage }
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatalf("state %s: %v", name, err)
			}
			if st.Type == "Task" {
				out[name] = st.Resource
			}
			for _, b := range st.Branches {
				walk(b.States)
			}
			if st.Iterator != nil {
				walk(st.Iterator.States)
			}
			if st.ItemProcessor != nil {
				walk(st.ItemProcessor.States)
			}
		}
	}
	walk(doc.States)
	return out
}

func TestStateMachineWiring(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	if got := tpl.Transform; got == nil || got.String == nil || *got.String != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v, want AWS::Serverless-2016-10-31", got)
	}
	for _, m := range []struct {
		resource, file string
		embedded       []byte
	}{
		{"ImageStateMachine", "statemachine.asl.json", deploy.StateMachine},
		{"BackfillStateMachine", "backfill.asl.json", deploy.Backfill},
	} {
		t.Run(m.resource, func(t *testing.T) {
			checkWiring(t, tpl, m.resource, m.file, m.embedded)
		})
	}
}

// checkWiring checks one state machine of the template against the
// definition file the local executor embeds: substitutions, the tasks'
// functions and the role that may invoke them, logging.
func checkWiring(t *testing.T, tpl *cloudformation.Template, resource, file string, embedded []byte) {
	sm, err := tpl.GetServerlessStateMachineWithName(resource)
	if err != nil {
		t.Fatal(err)
	}
	if sm.DefinitionUri == nil || sm.DefinitionUri.String == nil || *sm.DefinitionUri.String != file {
		t.Fatalf("DefinitionUri = %v, want %s (the file the local executor embeds)", sm.DefinitionUri, file)
	}
	if sm.Definition != nil {
		t.Error("the state machine must come from DefinitionUri only, not an inline Definition")
	}
	def, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(def, embedded) {
		t.Errorf("%s differs from the embedded definition", file)
	}
	// Every ${X} in the definition has a substitution and every
	// substitution is used.
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(def), -1) {
		used[m[1]] = true
	}
	for name := range used {
		if _, ok := sm.DefinitionSubstitutions[name]; !ok {
			t.Errorf("${%s} in %s has no DefinitionSubstitutions entry", name, file)
		}
	}
	for name := range sm.DefinitionSubstitutions {
		if !used[name] {
			t.Errorf("DefinitionSubstitutions.%s is not used by %s", name, file)
		}
	}
	// The local executor substitutes the same names.
	local := deploy.LocalSubstitutions("results")
	for name := range used {
		if _, ok := local[name]; !ok {
			t.Errorf("deploy.LocalSubstitutions lacks ${%s}", name)
		}
	}

	// Every Task resource is a function of this template, and the state
	// machine's role may invoke exactly those functions.
	functions := tpl.GetAllServerlessFunctionResources()
	var invoked []string
	for state, res := range aslTasks(t, def) {
		m := regexp.MustCompile(`^\$\{([A-Za-z0-9_]+)\}$`).FindStringSubmatch(res)
		if m == nil {
			t.Errorf("Task %s: Resource %q is not a single ${...} function ARN substitution", state, res)
			continue
		}
		val := sm.DefinitionSubstitutions[m[1]]
		fn, ok := strings.CutSuffix(strings.TrimPrefix(val, "getatt:"), ".Arn")
		if !ok || !strings.HasPrefix(val, "getatt:") {
			t.Errorf("Task %s: ${%s} = %q, want !GetAtt <Function>.Arn", state, m[1], val)
			continue
		}
		if _, ok := functions[fn]; !ok {
			t.Errorf("Task %s: ${%s} names %s, which is not an AWS::Serverless::Function in the template", state, m[1], fn)
		}
		invoked = append(invoked, "getatt:"+fn+".Arn")
	}
	slices.Sort(invoked)
	invoked = slices.Compact(invoked)
	role, err := tpl.GetIAMRoleWithName(strings.TrimSuffix(strings.TrimPrefix(deref(sm.Role), "getatt:"), ".Arn"))
	if err != nil {
		t.Fatalf("state machine role: %v", err)
	}
	var allowed []string
	for _, st := range statements(t, role.Policies) {
		if slices.Contains(st.Action, "lambda:InvokeFunction") {
			allowed = append(allowed, st.Resource...)
		}
	}
	slices.Sort(allowed)
	if !slices.Equal(allowed, invoked) {
		t.Errorf("state machine role may invoke %v; the definition's tasks are %v", allowed, invoked)
	}
	if sm.Logging == nil || len(sm.Logging.Destinations) == 0 {
		t.Error("state machine has no CloudWatch Logs destination")
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// statement is an IAM statement with Action and Resource as lists.
type statement struct {
	Effect   string
	Action   []string
	Resource []string
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func statements[P any](t *testing.T, policies []P) []statement {
	t.Helper()
	var out []statement
	for _, p := range policies {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var pol struct {
			PolicyDocument struct{ Statement []map[string]any }
		}
		if err := json.Unmarshal(raw, &pol); err != nil {
			t.Fatal(err)
		}
		for _, s := range pol.PolicyDocument.Statement {
			if s == nil {
				continue // an If that chose AWS::NoValue
			}
			out = append(out, statement{Effect: fmt.Sprint(s["Effect"]), Action: strs(s["Action"]), Resource: strs(s["Resource"])})
		}
	}
	return out
}

// unscopedAllowed are the only actions that may be granted on Resource
// "*": they support no resource-level permissions.
var unscopedAllowed = map[string]bool{
	"rekognition:DetectLabels": true, "rekognition:DetectFaces": true,
	"rekognition:DetectText": true, "rekognition:DetectModerationLabels": true,
	// CloudWatch Logs vended delivery, needed by Step Functions logging.
	"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
	"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
	"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
}

func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	roles := tpl.GetAllIAMRoleResources()
	if len(roles) < 6 {
		t.Errorf("%d roles, want one per function and one for the state machine", len(roles))
	}
	for name, role := range roles {
		for _, arn := range role.ManagedPolicyArns {
			if strings.Contains(arn, "FullAccess") || strings.Contains(arn, "AdministratorAccess") || strings.Contains(arn, "PowerUser") {
				t.Errorf("%s attaches managed policy %s", name, arn)
			}
		}
		for _, st := range statements(t, role.Policies) {
			if st.Effect != "Allow" {
				continue
			}
			for _, a := range st.Action {
				if a == "*" || strings.HasSuffix(a, ":*") || strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", name, a)
				}
			}
			if slices.Contains(st.Resource, "*") {
				for _, a := range st.Action {
					if !unscopedAllowed[a] {
						t.Errorf("%s: %s granted on Resource \"*\"", name, a)
					}
				}
			}
			for _, r := range st.Resource {
				if r == "" || r == "<nil>" {
					t.Errorf("%s: empty resource for %v", name, st.Action)
				}
			}
		}
	}
	// SAM-generated roles would attach broad managed policies: every
	// function and the state machine must name their own role.
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		if fn.Role == nil || fn.Policies != nil {
			t.Errorf("%s: want an explicit Role and no SAM Policies", name)
		}
	}
	for name, sm := range tpl.GetAllServerlessStateMachineResources() {
		if sm.Role == nil || sm.Policies != nil {
			t.Errorf("%s: want an explicit Role and no SAM Policies", name)
		}
	}
	// Rekognition is granted only to the recognizer.
	for name, role := range roles {
		for _, st := range statements(t, role.Policies) {
			for _, a := range st.Action {
				if strings.HasPrefix(a, "rekognition:") && name != "RecognizeRole" {
					t.Errorf("%s is granted %s", name, a)
				}
			}
		}
	}
}

func TestBucketsAndTrigger(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	up, err := tpl.GetS3BucketWithName("UploadBucket")
	if err != nil {
		t.Fatal(err)
	}
	res, err := tpl.GetS3BucketWithName("ResultBucket")
	if err != nil {
		t.Fatal(err)
	}
	if deref(up.BucketName) == deref(res.BucketName) {
		t.Errorf("upload and result buckets are both %q", deref(up.BucketName))
	}
	if res.NotificationConfiguration != nil {
		t.Error("the result bucket has notifications: results could trigger executions")
	}
	nc := up.NotificationConfiguration
	if nc == nil || len(nc.LambdaConfigurations) != 1 {
		t.Fatalf("upload bucket notifications = %+v, want one Lambda configuration", nc)
	}
	lc := nc.LambdaConfigurations[0]
	if lc.Event != "s3:ObjectCreated:*" || lc.Function != "getatt:TriggerFunction.Arn" {
		t.Errorf("upload bucket notifies %s of %s, want TriggerFunction of s3:ObjectCreated:*", lc.Function, lc.Event)
	}
	perm, err := tpl.GetLambdaPermissionWithName("TriggerInvokePermission")
	if err != nil {
		t.Fatal(err)
	}
	if perm.Principal != "s3.amazonaws.com" || deref(perm.SourceArn) != "arn:aws:s3:::"+deref(up.BucketName) || perm.SourceAccount == nil {
		t.Errorf("invoke permission = principal %s source %s account %v", perm.Principal, deref(perm.SourceArn), perm.SourceAccount)
	}

	trig, err := tpl.GetServerlessFunctionWithName("TriggerFunction")
	if err != nil {
		t.Fatal(err)
	}
	if trig.DeadLetterQueue == nil || trig.DeadLetterQueue.Type != "SQS" || trig.DeadLetterQueue.TargetArn != "getatt:TriggerDeadLetterQueue.Arn" {
		t.Errorf("trigger dead-letter queue = %+v", trig.DeadLetterQueue)
	}
	if trig.EventInvokeConfig == nil || trig.EventInvokeConfig.MaximumRetryAttempts == nil {
		t.Error("trigger has no EventInvokeConfig retry setting")
	}

	alarms := map[string]string{}
	for _, a := range tpl.GetAllCloudWatchAlarmResources() {
		alarms[deref(a.MetricName)] = deref(a.Namespace)
		if len(a.AlarmActions) == 0 {
			t.Errorf("alarm on %s has no action", deref(a.MetricName))
		}
	}
	for metric, ns := range map[string]string{"ExecutionsFailed": "AWS/States", "ApproximateNumberOfMessagesVisible": "AWS/SQS"} {
		if alarms[metric] != ns {
			t.Errorf("no alarm on %s %s (alarms: %v)", ns, metric, alarms)
		}
	}
}

func TestFunctionsAndLogs(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	g := tpl.Globals["Function"]
	raw, _ := json.Marshal(g)
	var globals struct {
		Runtime       string
		Architectures []string
		Handler       string
	}
	if err := json.Unmarshal(raw, &globals); err != nil {
		t.Fatal(err)
	}
	if globals.Runtime != "provided.al2023" || !slices.Equal(globals.Architectures, []string{"arm64"}) || globals.Handler != "bootstrap" {
		t.Errorf("Globals.Function = %+v, want provided.al2023, arm64, bootstrap", globals)
	}
	groups := map[string]int{}
	for _, lg := range tpl.GetAllLogsLogGroupResources() {
		groups[deref(lg.LogGroupName)]++
		if lg.RetentionInDays == nil || *lg.RetentionInDays != 30 {
			t.Errorf("log group %s retention = %v, want the LogRetentionDays parameter", deref(lg.LogGroupName), lg.RetentionInDays)
		}
	}
	fns := tpl.GetAllServerlessFunctionResources()
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	sort.Strings(names)
	want := []string{"InspectFunction", "NotifyFunction", "RecognizeFunction", "StoreFunction", "TriggerFunction"}
	if !slices.Equal(names, want) {
		t.Errorf("functions = %v, want %v", names, want)
	}
	for name, fn := range fns {
		if groups["/aws/lambda/"+deref(fn.FunctionName)] != 1 {
			t.Errorf("%s: no log group /aws/lambda/%s with retention", name, deref(fn.FunctionName))
		}
		if fn.AWSCloudFormationMetadata["BuildMethod"] != "go1.x" {
			t.Errorf("%s: Metadata.BuildMethod = %v, want go1.x", name, fn.AWSCloudFormationMetadata["BuildMethod"])
		}
		if fn.CodeUri == nil || fn.CodeUri.String == nil {
			t.Errorf("%s: no CodeUri", name)
			continue
		}
		dir := filepath.Clean(*fn.CodeUri.String)
		if !strings.HasPrefix(dir, filepath.Join("..", "cmd", "lambda")+string(filepath.Separator)) {
			t.Errorf("%s: CodeUri %s is not a cmd/lambda main package", name, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
			t.Errorf("%s: CodeUri %s has no main.go: %v", name, dir, err)
		}
	}
}

// TestFunctionSettings checks the template against the code: every
// function gets the environment its main reads, and no function outlives
// the state that invokes it.
func TestFunctionSettings(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	env := func(fn *serverless.Function) map[string]any {
		out := map[string]any{}
		raw, _ := json.Marshal(tpl.Globals["Function"])
		var g struct {
			Environment struct{ Variables map[string]any }
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		for k, v := range g.Environment.Variables {
			out[k] = v
		}
		if fn.Environment != nil {
			for k, v := range fn.Environment.Variables {
				out[k] = v
			}
		}
		return out
	}
	want := map[string]map[string]string{
		"TriggerFunction":   {awslambda.EnvStateMachineARN: "ref:ImageStateMachine", awslambda.EnvResultBucket: "example-results"},
		"RecognizeFunction": {awslambda.EnvEngine: "rekognition", awslambda.EnvFeatures: "all", awslambda.EnvResultBucket: "example-results"},
		"NotifyFunction":    {awslambda.EnvTopicARN: "ref:NotificationTopic"},
		"StoreFunction":     {awslambda.EnvResultBucket: "example-results"},
		"InspectFunction":   {awslambda.EnvUploadBucket: "example-uploads"},
	}
	for name, vars := range want {
		fn, err := tpl.GetServerlessFunctionWithName(name)
		if err != nil {
			t.Fatal(err)
		}
		got := env(fn)
		for k, v := range vars {
			if fmt.Sprint(got[k]) != v {
				t.Errorf("%s: %s = %v, want %s", name, k, got[k], v)
			}
		}
	}

	// Lambda timeout <= the TimeoutSeconds of every state that calls it.
	sm, _ := tpl.GetServerlessStateMachineWithName("ImageStateMachine")
	var def struct {
		States map[string]struct {
			Type           string
			Resource       string
			TimeoutSeconds int
		}
	}
	if err := json.Unmarshal(deploy.StateMachine, &def); err != nil {
		t.Fatal(err)
	}
	var globalTimeout struct{ Timeout int }
	raw, _ := json.Marshal(tpl.Globals["Function"])
	if err := json.Unmarshal(raw, &globalTimeout); err != nil {
		t.Fatal(err)
	}
	for state, st := range def.States {
		if st.Type != "Task" {
			continue
		}
		key := strings.TrimSuffix(strings.TrimPrefix(st.Resource, "${"), "}")
		fnName := strings.TrimSuffix(strings.TrimPrefix(sm.DefinitionSubstitutions[key], "getatt:"), ".Arn")
		fn, err := tpl.GetServerlessFunctionWithName(fnName)
		if err != nil {
			t.Fatalf("%s: %v", state, err)
		}
		timeout := globalTimeout.Timeout
		if fn.Timeout != nil {
			timeout = *fn.Timeout
		}
		if st.TimeoutSeconds == 0 || timeout > st.TimeoutSeconds {
			t.Errorf("%s: function %s times out after %ds, state after %ds", state, fnName, timeout, st.TimeoutSeconds)
		}
	}
}

// TestRecognizeConcurrency: the recogniser's reserved concurrency caps the
// Rekognition request rate, and the state machine retries the throttling
// Lambda reports when the cap is reached.
func TestRecognizeConcurrency(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	fn, err := tpl.GetServerlessFunctionWithName("RecognizeFunction")
	if err != nil {
		t.Fatal(err)
	}
	if fn.ReservedConcurrentExecutions == nil || *fn.ReservedConcurrentExecutions != 10 {
		t.Errorf("ReservedConcurrentExecutions = %v, want the RecognizeConcurrency parameter", fn.ReservedConcurrentExecutions)
	}
	var def struct {
		States map[string]struct {
			Resource string
			Retry    []struct{ ErrorEquals []string }
		}
	}
	if err := json.Unmarshal(deploy.StateMachine, &def); err != nil {
		t.Fatal(err)
	}
	for name, st := range def.States {
		if st.Resource != "${RecognizeFunctionArn}" {
			continue
		}
		retried := false
		for _, r := range st.Retry {
			retried = retried || slices.Contains(r.ErrorEquals, "Lambda.TooManyRequestsException") || slices.Contains(r.ErrorEquals, "States.ALL")
		}
		if !retried {
			t.Errorf("state %s does not retry Lambda.TooManyRequestsException", name)
		}
	}
}

// TestBackfillPermissions: the backfill's role may list exactly the
// upload bucket its ItemReader reads, write exactly where its
// ResultWriter writes, and start and stop its own child executions; its
// functions time out before the states that call them.
func TestBackfillPermissions(t *testing.T) {
	t.Parallel()
	tpl, _ := loadTemplate(t)
	sm, err := tpl.GetServerlessStateMachineWithName("BackfillStateMachine")
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			ItemReader struct {
				Resource   string
				Parameters map[string]string
			}
			ResultWriter struct {
				Resource   string
				Parameters map[string]string
			}
			ItemProcessor struct {
				ProcessorConfig struct{ Mode string }
				States          map[string]struct {
					Type, Resource string
					TimeoutSeconds int
				}
			}
		}
	}
	if err := json.Unmarshal(deploy.Backfill, &def); err != nil {
		t.Fatal(err)
	}
	m := def.States["Backfill"]
	sub := func(v string) string { return fmt.Sprint(sm.DefinitionSubstitutions[strings.Trim(v, "${}")]) }
	if m.ItemProcessor.ProcessorConfig.Mode != "DISTRIBUTED" || m.ItemReader.Resource != "arn:aws:states:::s3:listObjectsV2" ||
		sub(m.ItemReader.Parameters["Bucket"]) != "example-uploads" {
		t.Errorf("Backfill reads %s %s (mode %s), want a Distributed Map over the upload bucket", m.ItemReader.Resource, sub(m.ItemReader.Parameters["Bucket"]), m.ItemProcessor.ProcessorConfig.Mode)
	}
	if sub(m.ResultWriter.Parameters["Bucket"]) != "example-results" || m.ResultWriter.Parameters["Prefix"] != deploy.BackfillResultPrefix {
		t.Errorf("ResultWriter writes to %s/%s", sub(m.ResultWriter.Parameters["Bucket"]), m.ResultWriter.Parameters["Prefix"])
	}
	role, err := tpl.GetIAMRoleWithName(strings.TrimSuffix(strings.TrimPrefix(deref(sm.Role), "getatt:"), ".Arn"))
	if err != nil {
		t.Fatal(err)
	}
	grants := map[string][]string{}
	for _, st := range statements(t, role.Policies) {
		for _, a := range st.Action {
			grants[a] = append(grants[a], st.Resource...)
		}
	}
	want := map[string][]string{
		"s3:ListBucket":           {"arn:aws:s3:::example-uploads"},
		"s3:PutObject":            {"arn:aws:s3:::example-results/" + deploy.BackfillResultPrefix + "/*"},
		"states:StartExecution":   {"arn:aws:states:us-east-1:123456789012:stateMachine:imagerec-backfill"},
		"states:StopExecution":    {"arn:aws:states:us-east-1:123456789012:execution:imagerec-backfill/*"},
		"lambda:InvokeFunction":   {"getatt:InspectFunction.Arn", "getatt:RecognizeFunction.Arn", "getatt:StoreFunction.Arn"},
		"states:RedriveExecution": {"arn:aws:states:us-east-1:123456789012:mapRun:imagerec-backfill/*"},
	}
	for a, res := range want {
		if !slices.Equal(grants[a], res) {
			t.Errorf("backfill role: %s on %v, want %v", a, grants[a], res)
		}
	}
	if deref(sm.Name) != "imagerec-backfill" {
		t.Errorf("backfill state machine name %s: the role's own-ARN grants assume STACK-backfill", deref(sm.Name))
	}
	var globalTimeout struct{ Timeout int }
	raw, _ := json.Marshal(tpl.Globals["Function"])
	if err := json.Unmarshal(raw, &globalTimeout); err != nil {
		t.Fatal(err)
	}
	for name, st := range m.ItemProcessor.States {
		if st.Type != "Task" {
			continue
		}
		fn, err := tpl.GetServerlessFunctionWithName(strings.TrimSuffix(strings.TrimPrefix(sub(st.Resource), "getatt:"), ".Arn"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		timeout := globalTimeout.Timeout
		if fn.Timeout != nil {
			timeout = *fn.Timeout
		}
		if st.TimeoutSeconds == 0 || timeout > st.TimeoutSeconds {
			t.Errorf("%s: function times out after %ds, state after %ds", name, timeout, st.TimeoutSeconds)
		}
	}
}

// nodeModules is where the set-up installs asl-validator (outside git).
func nodeModules() string {
	if d := os.Getenv("IMAGEREC_NODE_MODULES"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "imagerec", "node", "node_modules")
}

func TestASLValidator(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(nodeModules(), ".bin", "asl-validator")
	_, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(bin); err != nil && nodeErr == nil && citest.CI() {
		// The README test command installs it in set-up; if that step is
		// missing, install the pinned version into the same cache here.
		cmd := exec.CommandContext(t.Context(), "npm", "install", "--no-audit", "--no-fund", "--prefix", filepath.Dir(nodeModules()), "asl-validator@4.0.0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("npm install asl-validator@4.0.0: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat(bin); err != nil || nodeErr != nil {
		msg := fmt.Sprintf("asl-validator not installed (%s; node: %v); install with: npm install --prefix ~/.cache/imagerec/node asl-validator@4.0.0", bin, nodeErr)
		citest.Skip(t, msg)
	}
	run := func(path string) (string, error) {
		out, err := exec.CommandContext(t.Context(), bin, "--json-path", path).CombinedOutput()
		return string(out), err
	}
	for _, f := range []string{"statemachine.asl.json", "backfill.asl.json"} {
		if out, err := run(f); err != nil {
			t.Errorf("asl-validator rejects %s: %v\n%s", f, err, out)
		}
	}
	// The validator must be able to fail: break one Next.
	broken := bytes.Replace(deploy.StateMachine, []byte(`"Next": "StoreResults"`), []byte(`"Next": "NoSuchState"`), 1)
	if bytes.Equal(broken, deploy.StateMachine) {
		t.Fatal("could not break the definition for the negative check")
	}
	path := filepath.Join(t.TempDir(), "broken.asl.json")
	if err := os.WriteFile(path, broken, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(path); err == nil {
		t.Errorf("asl-validator accepted a definition with a missing state:\n%s", out)
	}
}

// TestFaceCollectionPermissions: the recognizer may call exactly the face
// collection actions its task needs, on the one collection's ARN, only
// when FaceCollection is set (IndexFaces only with IndexFaces=true), and
// its environment names them.
func TestFaceCollectionPermissions(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:rekognition:us-east-1:123456789012:collection/family"
	tests := []struct {
		name    string
		params  map[string]any
		actions map[string]bool // collection actions granted (on arn)
		env     map[string]string
	}{
		{"no collection", map[string]any{"FaceCollection": "", "IndexFaces": "false"}, map[string]bool{}, map[string]string{}},
		{"search", map[string]any{"IndexFaces": "false"}, map[string]bool{"rekognition:SearchFacesByImage": true},
			map[string]string{awslambda.EnvFaceCollection: "family"}},
		{"search and index", nil, map[string]bool{"rekognition:SearchFacesByImage": true, "rekognition:IndexFaces": true},
			map[string]string{awslambda.EnvFaceCollection: "family", awslambda.EnvIndexFaces: "true"}},
		{"index without a collection", map[string]any{"FaceCollection": ""}, map[string]bool{}, map[string]string{}},
		{"onnx engine", map[string]any{"Engine": "onnx"}, map[string]bool{}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl := deployTemplate(t, tt.params)
			got := map[string]bool{}
			for name, role := range tpl.GetAllIAMRoleResources() {
				for _, st := range statements(t, role.Policies) {
					for _, a := range st.Action {
						if a != "rekognition:SearchFacesByImage" && a != "rekognition:IndexFaces" {
							continue
						}
						if name != "RecognizeRole" || len(st.Resource) != 1 || st.Resource[0] != arn || len(st.Action) != 1 {
							t.Errorf("%s: %v on %v, want one action per statement, on %s only", name, st.Action, st.Resource, arn)
						}
						got[a] = true
					}
				}
			}
			if !maps.Equal(got, tt.actions) {
				t.Errorf("collection actions %v, want %v", got, tt.actions)
			}
			fn, err := tpl.GetServerlessFunctionWithName("RecognizeFunction")
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for k, v := range fn.Environment.Variables {
				if v != "" && (k == awslambda.EnvFaceCollection || k == awslambda.EnvIndexFaces) {
					env[k] = v
				}
			}
			if !maps.Equal(env, tt.env) {
				t.Errorf("RecognizeFunction environment %v, want %v", env, tt.env)
			}
		})
	}
}
