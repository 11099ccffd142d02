// Package argocd tests the Argo CD resource customizations under
// resource_customizations, laid out as in Argo CD's own repository
// (<group>/<Kind>/health.lua, health_test.yaml, actions/...), with the Lua
// engine Argo CD runs them in and Argo CD's test file formats.
package argocd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

const (
	root  = "resource_customizations"
	group = "vantage.omnivector.solutions"
	// refreshAnnotation is api/v1alpha1.RefreshRequestedAnnotation; spelt
	// out so this package needs nothing of the operator's.
	refreshAnnotation = "vantage.omnivector.solutions/refresh-requested-at"
)

// kinds are the kinds that must each have the customizations.
var kinds = []string{"VantageCredential", "ClusterVantageCredential"}

// actionClock is the time os.date and os.time give the actions when the
// script names none, so expected outputs hold a fixed
// refresh-requested-at: 2025-06-01T12:00:00Z.
var actionClock = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// healthTests is health_test.yaml.
type healthTests struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// discoveredAction is one entry of what discovery.lua returns, as Argo CD
// reads it.
type discoveredAction struct {
	Name        string `json:"name"`
	Disabled    bool   `json:"disabled,omitempty"`
	IconClass   string `json:"iconClass,omitempty"`
	DisplayName string `json:"displayName,omitempty"`
}

// actionTests is actions/action_test.yaml.
type actionTests struct {
	DiscoveryTests []struct {
		InputPath string             `json:"inputPath"`
		Result    []discoveredAction `json:"result"`
	} `json:"discoveryTests"`
	ActionTests []struct {
		Action             string `json:"action"`
		InputPath          string `json:"inputPath"`
		ExpectedOutputPath string `json:"expectedOutputPath"`
	} `json:"actionTests"`
}

func kindDir(kind string) string { return filepath.Join(root, group, kind) }

// customizedKinds walks resource_customizations for directories holding a
// health.lua or an actions/ directory, as Argo CD's own test does.
func customizedKinds(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "actions" {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "health.lua" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no health.lua under " + root)
	}
	return dirs
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(readFile(t, path)), into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// readObject reads a Kubernetes object as Argo CD holds it: JSON decoded
// into maps, slices, float64s, strings and bools.
func readObject(t *testing.T, path string) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(readFile(t, path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(j, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}

// newVM is a Lua state with what Argo CD opens for health and action
// scripts: base, table, string, math, and an os module that holds only
// date and time and comes from require("os"). With fixed set, date and
// time read that time when the script gives none, so outputs are
// reproducible; the formatting is gopher-lua's own.
func newVM(t *testing.T, fixed *time.Time) *lua.LState {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	t.Cleanup(L.Close)
	// In order: package first, as gopher-lua's own OpenLibs does.
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}, {lua.OsLibName, lua.OpenOs},
	} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatal(err)
		}
	}
	// Take date and time from the full os library, then hide the rest of it
	// (execute, remove, getenv...), as Argo CD's safe os does.
	full := L.GetGlobal(lua.OsLibName).(*lua.LTable)
	date, now := full.RawGetString("date"), full.RawGetString("time")
	L.SetGlobal(lua.OsLibName, lua.LNil)
	// Opening os also filled package.loaded, where require looks first.
	L.GetField(L.GetGlobal("package"), "loaded").(*lua.LTable).RawSetString(lua.OsLibName, lua.LNil)
	if fixed != nil {
		date = fixedDate(L, date, fixed)
		now = fixedTime(L, now, fixed)
	}
	L.PreloadModule(lua.OsLibName, func(L *lua.LState) int {
		mod := L.NewTable()
		mod.RawSetString("date", date)
		mod.RawSetString("time", now)
		L.Push(mod)
		return 1
	})
	return L
}

// fixedDate wraps os.date so that, called without a time (its second
// argument), it formats fixed; the format defaults to "%c" as in Lua.
func fixedDate(L *lua.LState, date lua.LValue, fixed *time.Time) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		args := []lua.LValue{lua.LString("%c"), lua.LNumber(fixed.Unix())}
		for i := 1; i <= L.GetTop() && i <= len(args); i++ {
			args[i-1] = L.Get(i)
		}
		if err := L.CallByParam(lua.P{Fn: date, NRet: 1, Protect: true}, args...); err != nil {
			L.RaiseError("%v", err)
		}
		return 1
	})
}

// fixedTime wraps os.time so that, called without a date table, it
// returns fixed.
func fixedTime(L *lua.LState, now lua.LValue, fixed *time.Time) *lua.LFunction {
	return L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() == 0 {
			L.Push(lua.LNumber(fixed.Unix()))
			return 1
		}
		if err := L.CallByParam(lua.P{Fn: now, NRet: 1, Protect: true}, L.Get(1)); err != nil {
			L.RaiseError("%v", err)
		}
		return 1
	})
}

// toLua converts a decoded JSON value to Lua as Argo CD does: objects and
// arrays become tables, null becomes nil.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	case nil:
		return lua.LNil
	}
	panic(fmt.Sprintf("no Lua value for %T", v))
}

// fromLua converts a Lua value back to decoded JSON. Lua cannot tell an
// empty object from an empty array, so an empty table takes the shape of
// the value at the same place in the input (like), an object when there
// was none, as Argo CD mends the objects actions return.
func fromLua(v lua.LValue, like any) any {
	switch v := v.(type) {
	case *lua.LTable:
		n, keys := v.MaxN(), 0
		v.ForEach(func(lua.LValue, lua.LValue) { keys++ })
		if keys == 0 {
			if _, ok := like.([]any); ok {
				return []any{}
			}
			return map[string]any{}
		}
		if n == keys {
			old, _ := like.([]any)
			out := make([]any, n)
			for i := range n {
				var was any
				if i < len(old) {
					was = old[i]
				}
				out[i] = fromLua(v.RawGetInt(i+1), was)
			}
			return out
		}
		old, _ := like.(map[string]any)
		out := map[string]any{}
		v.ForEach(func(k, e lua.LValue) { out[k.String()] = fromLua(e, old[k.String()]) })
		return out
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return float64(v)
	case lua.LBool:
		return bool(v)
	}
	return nil
}

// run runs script with obj as the global obj and returns what it returns.
func run(t *testing.T, L *lua.LState, script string, obj map[string]any) lua.LValue {
	t.Helper()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatal(err)
	}
	ret := L.Get(-1)
	L.Pop(1)
	return ret
}

func TestHealth(t *testing.T) {
	for _, dir := range customizedKinds(t) {
		script := readFile(t, filepath.Join(dir, "health.lua"))
		var tests healthTests
		readYAML(t, filepath.Join(dir, "health_test.yaml"), &tests)
		if len(tests.Tests) == 0 {
			t.Errorf("%s: health_test.yaml holds no tests", dir)
		}
		for _, tt := range tests.Tests {
			t.Run(filepath.Join(filepath.Base(dir), tt.InputPath), func(t *testing.T) {
				ret := run(t, newVM(t, nil), script, readObject(t, filepath.Join(dir, tt.InputPath)))
				hs, ok := ret.(*lua.LTable)
				if !ok {
					t.Fatalf("health.lua returned %s, not a table", ret.Type())
				}
				status, message := hs.RawGetString("status"), hs.RawGetString("message")
				if status.Type() != lua.LTString || message.Type() != lua.LTString {
					t.Fatalf("health.lua returned status %s and message %s, want two strings", status.Type(), message.Type())
				}
				// The statuses Argo CD knows; another one is an error there.
				switch status.String() {
				case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
				default:
					t.Fatalf("status %q is no Argo CD health status", status)
				}
				if status.String() != tt.HealthStatus.Status || message.String() != tt.HealthStatus.Message {
					t.Errorf("got %s %q\nwant %s %q", status, message, tt.HealthStatus.Status, tt.HealthStatus.Message)
				}
			})
		}
	}
}

// discover runs discovery.lua on obj and lists the actions it offers, by
// name.
func discover(t *testing.T, script string, obj map[string]any) []discoveredAction {
	t.Helper()
	ret, ok := run(t, newVM(t, nil), script, obj).(*lua.LTable)
	if !ok {
		t.Fatal("discovery.lua returned no table")
	}
	var got []discoveredAction
	ret.ForEach(func(k, v lua.LValue) {
		b, err := json.Marshal(fromLua(v, nil))
		if err != nil {
			t.Fatal(err)
		}
		a := discoveredAction{}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("action %s: %v", k, err)
		}
		a.Name = k.String()
		got = append(got, a)
	})
	sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
	return got
}

func TestActions(t *testing.T) {
	for _, dir := range customizedKinds(t) {
		actions := filepath.Join(dir, "actions")
		var tests actionTests
		readYAML(t, filepath.Join(actions, "action_test.yaml"), &tests)
		if len(tests.DiscoveryTests) == 0 || len(tests.ActionTests) == 0 {
			t.Errorf("%s: action_test.yaml needs discovery tests and action tests", actions)
		}
		discovery := readFile(t, filepath.Join(actions, "discovery.lua"))
		for _, tt := range tests.DiscoveryTests {
			t.Run(filepath.Base(dir)+"/discovery/"+tt.InputPath, func(t *testing.T) {
				got := discover(t, discovery, readObject(t, filepath.Join(actions, tt.InputPath)))
				if !reflect.DeepEqual(got, tt.Result) {
					t.Errorf("discovery.lua offers %+v, want %+v", got, tt.Result)
				}
			})
		}
		for _, tt := range tests.ActionTests {
			t.Run(filepath.Base(dir)+"/"+tt.Action+"/"+tt.InputPath, func(t *testing.T) {
				script := readFile(t, filepath.Join(actions, tt.Action, "action.lua"))
				in := readObject(t, filepath.Join(actions, tt.InputPath))
				got := fromLua(run(t, newVM(t, &actionClock), script, in), in)
				want := readObject(t, filepath.Join(actions, tt.ExpectedOutputPath))
				if !reflect.DeepEqual(got, want) {
					g, _ := yaml.Marshal(got)
					w, _ := yaml.Marshal(want)
					t.Errorf("%s returned\n%s\nwant (%s)\n%s", tt.Action, g, tt.ExpectedOutputPath, w)
				}
			})
		}
	}
}

// TestRefreshWithTheRealClock runs the refresh action without the fixed
// clock: the annotation must be now, in the form the fixed clock's tests
// cannot check, an RFC 3339 time in UTC.
func TestRefreshWithTheRealClock(t *testing.T) {
	actions := filepath.Join(kindDir("VantageCredential"), "actions")
	in := readObject(t, filepath.Join(kindDir("VantageCredential"), "testdata", "healthy.yaml"))
	before := time.Now().Truncate(time.Second)
	out := fromLua(run(t, newVM(t, nil), readFile(t, filepath.Join(actions, "refresh", "action.lua")), in), in)
	after := time.Now()
	v, _ := out.(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)[refreshAnnotation].(string)
	at, err := time.Parse("2006-01-02T15:04:05Z", v)
	if err != nil {
		t.Fatalf("refresh-requested-at %q: %v", v, err)
	}
	if at.Before(before) || at.After(after) {
		t.Errorf("refresh-requested-at %s, want between %s and %s", at, before, after)
	}
}

// TestKindsShareScripts: both kinds carry the same conditions and
// annotation, so their scripts are one, copied into each kind's directory
// because Argo CD reads them per kind.
func TestKindsShareScripts(t *testing.T) {
	for _, file := range []string{"health.lua", "actions/discovery.lua", "actions/refresh/action.lua"} {
		first := readFile(t, filepath.Join(kindDir(kinds[0]), file))
		for _, kind := range kinds[1:] {
			if readFile(t, filepath.Join(kindDir(kind), file)) != first {
				t.Errorf("%s of %s differs from %s's", file, kind, kinds[0])
			}
		}
	}
}

// TestEveryInputIsTested: each kind has its files, and every file under a
// testdata directory is an input or expected output of some test, so no
// capture goes unchecked.
func TestEveryInputIsTested(t *testing.T) {
	for _, kind := range kinds {
		dir := kindDir(kind)
		used := map[string]bool{}
		var health healthTests
		readYAML(t, filepath.Join(dir, "health_test.yaml"), &health)
		for _, tt := range health.Tests {
			used[filepath.Join(dir, tt.InputPath)] = true
		}
		var actions actionTests
		readYAML(t, filepath.Join(dir, "actions", "action_test.yaml"), &actions)
		for _, tt := range actions.DiscoveryTests {
			used[filepath.Join(dir, "actions", tt.InputPath)] = true
		}
		for _, tt := range actions.ActionTests {
			used[filepath.Join(dir, "actions", tt.InputPath)] = true
			used[filepath.Join(dir, "actions", tt.ExpectedOutputPath)] = true
		}
		for _, td := range []string{filepath.Join(dir, "testdata"), filepath.Join(dir, "actions", "testdata")} {
			files, err := filepath.Glob(filepath.Join(td, "*.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if !used[f] {
					t.Errorf("%s is no test's input or output", f)
				}
			}
		}
	}
}

// argocdCM is the argocd-cm snippet in README.md's GitOps section: the
// YAML after "# argocd-cm" up to the end of its code block, unindented.
func argocdCM(t *testing.T) map[string]string {
	t.Helper()
	lines := strings.Split(readFile(t, filepath.Join("..", "..", "README.md")), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "# argocd-cm" {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal(`README.md has no "# argocd-cm" snippet`)
	}
	indent := lines[start][:len(lines[start])-len(strings.TrimLeft(lines[start], " "))]
	var doc []string
	for _, l := range lines[start+1:] {
		if strings.TrimSpace(l) == "```" {
			break
		}
		doc = append(doc, strings.TrimPrefix(l, indent))
	}
	cm := map[string]string{}
	if err := yaml.UnmarshalStrict([]byte(strings.Join(doc, "\n")+"\n"), &cm); err != nil {
		t.Fatalf("README.md's argocd-cm snippet: %v", err)
	}
	return cm
}

// TestREADMESnippet: the argocd-cm keys in the README are the scripts
// here, for each kind, so the two cannot drift apart.
func TestREADMESnippet(t *testing.T) {
	cm := argocdCM(t)
	want := map[string]bool{}
	for _, kind := range kinds {
		dir := kindDir(kind)
		healthKey := "resource.customizations.health." + group + "_" + kind
		actionsKey := "resource.customizations.actions." + group + "_" + kind
		want[healthKey], want[actionsKey] = true, true
		if cm[healthKey] != readFile(t, filepath.Join(dir, "health.lua")) {
			t.Errorf("README.md's %s is not %s/health.lua", healthKey, dir)
		}
		var actions struct {
			Discovery   string `json:"discovery.lua"`
			Definitions []struct {
				Name   string `json:"name"`
				Action string `json:"action.lua"`
			} `json:"definitions"`
		}
		if err := yaml.UnmarshalStrict([]byte(cm[actionsKey]), &actions); err != nil {
			t.Errorf("README.md's %s: %v", actionsKey, err)
			continue
		}
		if actions.Discovery != readFile(t, filepath.Join(dir, "actions", "discovery.lua")) {
			t.Errorf("README.md's %s discovery.lua is not %s/actions/discovery.lua", actionsKey, dir)
		}
		if len(actions.Definitions) != 1 || actions.Definitions[0].Name != "refresh" ||
			actions.Definitions[0].Action != readFile(t, filepath.Join(dir, "actions", "refresh", "action.lua")) {
			t.Errorf("README.md's %s must define refresh alone, as %s/actions/refresh/action.lua", actionsKey, dir)
		}
	}
	for k := range cm {
		if !want[k] {
			t.Errorf("README.md's argocd-cm snippet has %s, which no test covers", k)
		}
	}
}

// TestVMOffersWhatArgoCDDoes: scripts that pass here must not lean on
// what Argo CD's VM lacks (a global os, os.execute), and the fixed clock
// must be the one require("os") returns.
func TestVMOffersWhatArgoCDDoes(t *testing.T) {
	L := newVM(t, &actionClock)
	ret := run(t, L, `local os2 = require("os")
return tostring(os == nil) .. " " .. tostring(os2.execute == nil) .. " " .. os2.date("!%Y-%m-%dT%XZ") .. " " .. os2.time()`, nil)
	want := fmt.Sprintf("true true 2025-06-01T12:00:00Z %d", actionClock.Unix())
	if ret.String() != want {
		t.Errorf("got %q, want %q", ret, want)
	}
}

// TestHealthEdges covers what the operator does not write today but an
// object may hold (a condition missing, a message empty), so the script's
// fallbacks are exercised too. The captured cases are in health_test.yaml.
func TestHealthEdges(t *testing.T) {
	script := readFile(t, filepath.Join(kindDir("VantageCredential"), "health.lua"))
	for _, tt := range []struct {
		name, conditions, status, message string
	}{
		{"Stalled without Ready", `[{"type":"Stalled","status":"True","message":"fix it"}]`, "Degraded", "fix it"},
		{"Stalled with an empty Ready message", `[{"type":"Ready","status":"False","message":""},{"type":"Stalled","status":"True","message":"fix it"}]`, "Degraded", "fix it"},
		{"Reconciling without a message", `[{"type":"Ready","status":"Unknown","message":"working"},{"type":"Reconciling","status":"True"}]`, "Progressing", "working"},
		{"only other conditions", `[{"type":"RolloutRestart","status":"False","message":"not found"},{"type":"TLSVerified","status":"False","message":"off"}]`, "Progressing", "waiting for the operator to report Ready"},
		{"no conditions", `[]`, "Progressing", "waiting for the operator to report Ready"},
		{"Ready True beside a failing RolloutRestart", `[{"type":"RolloutRestart","status":"False","message":"not found"},{"type":"Ready","status":"True","message":"fine"}]`, "Healthy", "fine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(`{"metadata":{"generation":3},"status":{"observedGeneration":3,"conditions":`+tt.conditions+`}}`), &obj); err != nil {
				t.Fatal(err)
			}
			hs := run(t, newVM(t, nil), script, obj).(*lua.LTable)
			if s, m := hs.RawGetString("status").String(), hs.RawGetString("message").String(); s != tt.status || m != tt.message {
				t.Errorf("got %s %q, want %s %q", s, m, tt.status, tt.message)
			}
		})
	}
}
