package controller

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/labels"
)

var _ = Describe("ParseScope", func() {
	DescribeTable("reads --watch-label-selector and --watch-namespaces",
		func(selector, namespaces string, matches, misses labels.Set, wantNamespaces []string, wantString string) {
			s, err := ParseScope(selector, namespaces)
			Expect(err).NotTo(HaveOccurred())
			Expect(s.Namespaces).To(Equal(wantNamespaces))
			Expect(s.String()).To(Equal(wantString))
			if matches != nil {
				Expect(s.Selector.Matches(matches)).To(BeTrue())
			}
			if misses != nil {
				Expect(s.Selector.Matches(misses)).To(BeFalse())
			}
		},
		Entry("nothing: every credential, every namespace", "", "", nil, nil, []string(nil), "all credentials in all namespaces"),
		Entry("a shard", shardLabel+"=shard1", "",
			labels.Set{shardLabel: "shard1"}, labels.Set{shardLabel: "shard2"}, []string(nil),
			"credentials labelled "+shardLabel+"=shard1 in all namespaces"),
		Entry("the credentials of no shard", "!"+shardLabel, "",
			labels.Set{"app": "x"}, labels.Set{shardLabel: "shard1"}, []string(nil),
			"credentials labelled !"+shardLabel+" in all namespaces"),
		Entry("namespaces, spaces and empty items dropped", "", " team-a, ,team-b ", nil, nil, []string{"team-a", "team-b"},
			"all credentials in namespaces team-a, team-b"),
	)

	DescribeTable("refuses what would watch something else than meant",
		func(selector, namespaces, words string) {
			_, err := ParseScope(selector, namespaces)
			Expect(err).To(MatchError(ContainSubstring(words)))
		},
		Entry("a selector that does not parse", "shard in (a", "", `--watch-label-selector "shard in (a"`),
		Entry("a namespace that cannot exist", "", "team-a,Team_B", `--watch-namespaces: "Team_B" is not a namespace name`),
	)

	It("gives the caches the namespaces, or none for all", func() {
		s, err := ParseScope("", "a,b")
		Expect(err).NotTo(HaveOccurred())
		Expect(s.cacheNamespaces()).To(HaveLen(2))
		Expect(s.cacheNamespaces()).To(HaveKey("b"))
		Expect(Scope{}.cacheNamespaces()).To(BeNil())
	})
})
