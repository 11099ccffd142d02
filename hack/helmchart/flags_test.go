package main

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// managerFlags returns the flags cmd/main.go defines (flag.XxxVar(&v,
// "name", ...)) and the zap logging flags it binds.
func managerFlags(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../cmd/main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.X.(*ast.Ident).Name != "flag" || !strings.HasSuffix(sel.Sel.Name, "Var") {
			return true
		}
		if lit, ok := call.Args[1].(*ast.BasicLit); ok {
			name, _ := strconv.Unquote(lit.Value)
			names = append(names, name)
		}
		return true
	})
	fs := flag.NewFlagSet("zap", flag.ContinueOnError)
	(&zap.Options{}).BindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// Every flag of the manager is set through a value or by the chart itself,
// except the zap flags the chart leaves to manager.extraArgs; and every
// flag the chart names exists.
func TestFlagsCoverTheManager(t *testing.T) {
	defined := managerFlags(t)
	if len(defined) < 30 {
		t.Fatalf("found only %d flags in cmd/main.go: %v", len(defined), defined)
	}
	covered := map[string]bool{}
	for _, f := range flagValues {
		covered[f.flag] = true
	}
	for f := range chartFlags {
		covered[f] = true
	}
	for _, f := range defined {
		if !covered[f] && !strings.HasPrefix(f, "zap-") {
			t.Errorf("the manager's --%s is neither a value (flagValues) nor set by the chart (chartFlags)", f)
		}
	}
	for f := range covered {
		if !slices.Contains(defined, f) {
			t.Errorf("the chart sets --%s, which the manager does not define", f)
		}
	}
}

// Each flag value renders one argument line, so a flag cannot be lost or
// set twice by the chart.
func TestArgLines(t *testing.T) {
	args := argLines()
	for _, f := range flagValues {
		if n := strings.Count(args, `"--`+f.flag+`=`); n != 1 {
			t.Errorf("--%s appears %d times in the chart's arguments", f.flag, n)
		}
		if !strings.Contains(args, ".Values."+f.path+" ") && !strings.Contains(args, ".Values."+f.path+")") {
			t.Errorf("--%s is not read from .Values.%s", f.flag, f.path)
		}
	}
}
