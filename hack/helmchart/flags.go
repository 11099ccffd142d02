package main

import (
	"fmt"
	"strings"
)

// A flagValue is a manager flag set from a value. An unset value (an empty
// string or list, or null) leaves the flag out, so the manager's own
// default applies and the chart never restates it.
type flagValue struct {
	flag string
	// path under .Values, such as "config.allowedTokenHosts".
	path string
	// kind: "string", "list" (joined with commas), "number" or "bool".
	kind string
	doc  string
}

// flagValues are the flags a user sets through values.yaml. Together with
// chartFlags they cover every flag cmd/main.go defines (flags_test.go).
var flagValues = []flagValue{
	{"leader-election-id", "leaderElection.id", "string", "Name of the leader-election Lease; each shard (config.watchLabelSelector) needs its own."},
	{"leader-elect-lease-duration", "leaderElection.leaseDuration", "string", "How long a follower waits after the leader's last renewal before it takes over (manager default 15s)."},
	{"leader-elect-renew-deadline", "leaderElection.renewDeadline", "string", "How long the leader tries to renew before it steps down (manager default 10s)."},
	{"leader-elect-retry-period", "leaderElection.retryPeriod", "string", "How often the lease is tried or renewed (manager default 2s)."},
	{"default-token-url", "config.defaultTokenURL", "string", "Token endpoint for credentials whose key names none (manager default: Vantage's)."},
	{"default-api-url", "config.defaultAPIURL", "string", "VANTAGE_API_URL written when neither the credential nor its key names one (manager default: Vantage's)."},
	{"allowed-token-hosts", "config.allowedTokenHosts", "list", "Token hosts client secrets may be sent to: host, host:port or *.domain (empty: any)."},
	{"default-token-lifetime", "config.defaultTokenLifetime", "string", "Lifetime assumed for a token whose response gives none (manager default 1h)."},
	{"token-request-timeout", "config.tokenRequestTimeout", "string", "Timeout of one token request (manager default 10s)."},
	{"token-requests-per-second", "config.tokenRequestsPerSecond", "number", "Token requests per second to each token host, 0 for no limit (manager default 50)."},
	{"token-request-burst", "config.tokenRequestBurst", "number", "Token requests to one host in a burst above that limit (manager default 100)."},
	{"token-requests-in-flight", "config.tokenRequestsInFlight", "number", "Token requests in flight to one host, 0 for no limit (manager default 4)."},
	{"max-concurrent-reconciles", "config.maxConcurrentReconciles", "number", "Credentials reconciled in parallel (manager default 16)."},
	{"kube-api-qps", "config.kubeAPIQPS", "number", "Client-side limit on requests per second to the API server; 0 relies on its priority and fairness (manager default 0)."},
	{"kube-api-burst", "config.kubeAPIBurst", "number", "Requests to the API server in a burst above kubeAPIQPS (manager default 0)."},
	{"watch-label-selector", "config.watchLabelSelector", "string", "Handle only the credentials with these labels, such as sharding.vantage.omnivector.solutions/key=shard1 (empty: all)."},
	{"watch-namespaces", "config.watchNamespaces", "list", "Namespaces to watch (empty: all; with rbac.namespaced the release's namespace, and this must stay empty)."},
	{"cluster-credential-namespace", "config.clusterCredentialNamespace", "string", "Namespace of ClusterVantageCredentials' key Secrets (manager default: the release's namespace)."},
	{"cache-sync-timeout", "config.cacheSyncTimeout", "string", "Exit naming the resource when the caches have not synced within this long (manager default 5m)."},
	{"gc-percent", "config.gcPercent", "number", "Garbage collection target, GOGC (manager default 30)."},
	{"memory-limit-ratio", "config.memoryLimitRatio", "number", "Fraction of the container's memory limit the Go runtime keeps its memory under (manager default 0.75)."},
	{"enable-http2", "config.enableHTTP2", "bool", "Serve metrics over HTTP/2 too (manager default false: the Rapid Reset CVEs)."},
	{"pprof-bind-address", "config.pprofBindAddress", "string", "Serve net/http/pprof here, such as 127.0.0.1:6060 (empty: off)."},
	{"zap-log-level", "config.logLevel", "string", "Log level: info, debug, error, or a number for more verbosity (manager default info)."},
	{"zap-encoder", "config.logEncoder", "string", "Log format: json or console (manager default json)."},
}

// chartFlags are the flags the chart sets itself, from the values named.
var chartFlags = map[string]string{
	"leader-elect":              "leaderElection.enabled",
	"leader-election-namespace": "the Pod's namespace, which the manager uses in a cluster",
	"health-probe-bind-address": "manager.healthProbe.port",
	"metrics-bind-address":      "metrics.enabled and metrics.port",
	"metrics-secure":            "metrics.secure",
	"metrics-cert-path":         "metrics.certSecret (mounted there)",
	"metrics-cert-name":         "metrics.certSecret (its tls.crt)",
	"metrics-cert-key":          "metrics.certSecret (its tls.key)",
	"enable-rollout-restart":    "rolloutRestart.enabled, with its RBAC",
	"memory-limit":              "the MEMORY_LIMIT variable, from manager.resources.limits.memory",
}

// argLines renders the Deployment's arguments from the values: the
// chart's own first, then one line per set flagValue, then
// manager.extraArgs. Each is one list item at the args' indentation.
func argLines() string {
	var b strings.Builder
	b.WriteString(`{{- if .Values.leaderElection.enabled }}
- --leader-elect
{{- end }}
- --health-probe-bind-address=:{{ .Values.manager.healthProbe.port }}
{{- if .Values.metrics.enabled }}
- --metrics-bind-address=:{{ .Values.metrics.port }}
{{- if not .Values.metrics.secure }}
- --metrics-secure=false
{{- end }}
{{- with .Values.metrics.certSecret }}
- --metrics-cert-path=/tmp/k8s-metrics-server/metrics-certs
{{- end }}
{{- end }}
{{- if .Values.rolloutRestart.enabled }}
- --enable-rollout-restart
{{- end }}
{{- if .Values.rbac.namespaced }}
- --watch-namespaces=$(POD_NAMESPACE)
{{- end }}
`)
	for _, f := range flagValues {
		v := ".Values." + f.path
		switch f.kind {
		case "string":
			fmt.Fprintf(&b, "{{- with %s }}\n- {{ printf \"--%s=%%s\" . | quote }}\n{{- end }}\n", v, f.flag)
		case "list":
			fmt.Fprintf(&b, "{{- with %s }}\n- {{ printf \"--%s=%%s\" (join \",\" .) | quote }}\n{{- end }}\n", v, f.flag)
		case "number", "bool":
			// 0 and false are values too: only null leaves the flag out.
			fmt.Fprintf(&b, "{{- if not (kindIs \"invalid\" %s) }}\n- {{ printf \"--%s=%%v\" %s | quote }}\n{{- end }}\n", v, f.flag, v)
		default:
			panic("unknown flag kind " + f.kind)
		}
	}
	b.WriteString("{{- range .Values.manager.extraArgs }}\n- {{ . | quote }}\n{{- end }}")
	return b.String()
}
