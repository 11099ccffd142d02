package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("token host allowlist", func() {
	DescribeTable("ParseHostAllowlist",
		func(flag string, want []string, wantErr string) {
			got, err := ParseHostAllowlist(flag)
			if wantErr != "" {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("empty allows any", "", []string(nil), ""),
		Entry("spaces and empty entries", " Auth.Example.com , ,*.corp.example ", []string{"auth.example.com", "*.corp.example"}, ""),
		Entry("host and port", "auth.example:8443,[::1]:9000", []string{"auth.example:8443", "[::1]:9000"}, ""),
		Entry("IPv6 literal", "::1", []string{"::1"}, ""),
		Entry("a URL", "https://auth.example/", nil, `"https://auth.example/": want a host`),
		Entry("a path", "auth.example/oauth", nil, "want a host"),
		Entry("port zero", "auth.example:0", nil, "want a host"),
		Entry("port not a number", "auth.example:https", nil, "want a host"),
		Entry("wildcard inside", "auth.*.example", nil, "want a host"),
		Entry("double wildcard", "*.*.example", nil, "want a host"),
		Entry("wildcard over an IP", "*.10.0.0.1", nil, "want a host"),
		Entry("bare wildcard", "*.", nil, "want a host"),
		Entry("user info", "user@auth.example", nil, "want a host"),
	)

	DescribeTable("tokenHostAllowed",
		func(allowed []string, url string, want bool) {
			Expect(Endpoints{AllowedTokenHosts: allowed}.tokenHostAllowed(url)).To(Equal(want))
		},
		Entry("no list allows anything", nil, "https://anywhere.example/t", true),
		Entry("exact host", []string{"auth.example"}, "https://auth.example/oauth/token", true),
		Entry("case and trailing dot", []string{"auth.example"}, "https://AUTH.Example./t", true),
		Entry("another host", []string{"auth.example"}, "https://evil.example/t", false),
		Entry("a host that merely ends the same", []string{"auth.example"}, "https://notauth.example/t", false),
		Entry("host entry matches any port", []string{"auth.example"}, "https://auth.example:8443/t", true),
		Entry("port entry, same explicit port", []string{"auth.example:8443"}, "https://auth.example:8443/t", true),
		Entry("port entry, other port", []string{"auth.example:8443"}, "https://auth.example:9443/t", false),
		Entry("port entry, https default port", []string{"auth.example:443"}, "https://auth.example/t", true),
		Entry("port entry, http default port", []string{"localhost:80"}, "http://localhost/t", true),
		Entry("wildcard, subdomain", []string{"*.corp.example"}, "https://auth.corp.example/t", true),
		Entry("wildcard, deeper subdomain", []string{"*.corp.example"}, "https://a.b.corp.example/t", true),
		Entry("wildcard does not match the domain itself", []string{"*.corp.example"}, "https://corp.example/t", false),
		Entry("wildcard does not match a lookalike", []string{"*.corp.example"}, "https://evilcorp.example/t", false),
		Entry("IPv6 loopback", []string{"::1"}, "http://[::1]:8080/t", true),
		Entry("IPv6 with port", []string{"[::1]:8080"}, "http://[::1]:8080/t", true),
		Entry("user info does not fool it", []string{"auth.example"}, "https://auth.example@evil.example/t", false),
		Entry("unparsable URL", []string{"auth.example"}, "https://auth.example:badport/t", false),
		Entry("second entry matches", []string{"a.example", "127.0.0.1"}, "http://127.0.0.1:39999/t", true),
	)

	DescribeTable("Validate",
		func(e Endpoints, wantErr string) {
			err := e.Validate()
			if wantErr == "" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(ContainSubstring(wantErr)))
		},
		Entry("the documented defaults", DefaultEndpoints, ""),
		Entry("defaults on an allowed host",
			Endpoints{TokenURL: DefaultEndpoints.TokenURL, APIURL: DefaultEndpoints.APIURL, AllowedTokenHosts: []string{"*.omnivector.solutions"}}, ""),
		Entry("default token host not allowed",
			Endpoints{TokenURL: DefaultEndpoints.TokenURL, APIURL: DefaultEndpoints.APIURL, AllowedTokenHosts: []string{"auth.corp.example"}},
			"--default-token-url https://auth.vantage.omnivector.solutions/oauth/token: its host is not in --allowed-token-hosts (auth.corp.example)"),
		Entry("plain http default token URL", Endpoints{TokenURL: "http://auth.example/t", APIURL: DefaultEndpoints.APIURL},
			"--default-token-url: \"http://auth.example/t\" uses http"),
		Entry("default API URL not a URL", Endpoints{TokenURL: DefaultEndpoints.TokenURL, APIURL: "api.example"},
			"--default-api-url: \"api.example\" is not an absolute URL"),
	)
})
