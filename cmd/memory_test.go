package main

import "testing"

func TestChooseGC(t *testing.T) {
	env := func(vars ...string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			for _, v := range vars {
				if v == name {
					return "set", true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name    string
		env     []string
		percent int
		limit   string
		ratio   float64
		want    gcSettings
		wantErr bool
	}{
		{name: "defaults, no container limit", percent: 50, ratio: 0.75, want: gcSettings{percent: 50}},
		{name: "the downward API's byte count", percent: 50, limit: "134217728", ratio: 0.75, want: gcSettings{percent: 50, limit: 100663296}},
		{name: "a quantity", percent: 25, limit: "128Mi", ratio: 0.5, want: gcSettings{percent: 25, limit: 64 << 20}},
		{name: "ratio 0: no soft limit", percent: 50, limit: "128Mi", ratio: 0, want: gcSettings{percent: 50}},
		{name: "GOGC wins", env: []string{"GOGC"}, percent: 50, limit: "128Mi", ratio: 0.75, want: gcSettings{limit: 96 << 20}},
		{name: "GOMEMLIMIT wins", env: []string{"GOMEMLIMIT"}, percent: 50, limit: "128Mi", ratio: 0.75, want: gcSettings{percent: 50}},
		{name: "not a quantity", percent: 50, limit: "lots", ratio: 0.75, wantErr: true},
		{name: "not positive", percent: 50, limit: "0", ratio: 0.75, wantErr: true},
		{name: "ratio above 1", percent: 50, limit: "128Mi", ratio: 1.5, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chooseGC(env(tt.env...), tt.percent, tt.limit, tt.ratio)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want an error: %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
