package eventrecorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeSink records the calls and answers with the errors queued for them.
type fakeSink struct {
	mu     sync.Mutex
	calls  []string
	errors []error
}

func (f *fakeSink) answer(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if len(f.errors) == 0 {
		return nil
	}
	err := f.errors[0]
	f.errors = f.errors[1:]
	return err
}

func (f *fakeSink) Create(_ context.Context, ev *eventsv1.Event) (*eventsv1.Event, error) {
	count := int32(0)
	if ev.Series != nil {
		count = ev.Series.Count
	}
	return ev, f.answer(fmt.Sprintf("create %s %s %d", ev.Name, ev.Note, count))
}

func (f *fakeSink) Update(_ context.Context, ev *eventsv1.Event) (*eventsv1.Event, error) {
	return ev, f.answer("update " + ev.Name)
}

func (f *fakeSink) Patch(_ context.Context, ev *eventsv1.Event, data []byte) (*eventsv1.Event, error) {
	var p struct {
		Series struct{ Count int32 } `json:"series"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	return ev, f.answer(fmt.Sprintf("patch %s %d", ev.Name, p.Series.Count))
}

var start = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// event is an event about credential name at resourceVersion rv.
func event(name, rv, reason, note string, at time.Time) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("%s.%d", name, at.UnixNano())},
		EventTime:           metav1.MicroTime{Time: at},
		ReportingController: "vantage-credential-operator",
		ReportingInstance:   "vantage-credential-operator-host",
		Action:              "Exchange",
		Reason:              reason,
		Type:                corev1.EventTypeNormal,
		Note:                note,
		Regarding: corev1.ObjectReference{Kind: "VantageCredential", APIVersion: "vantage.omnivector.solutions/v1alpha1",
			Namespace: "ns", Name: name, UID: types.UID("uid-" + name), ResourceVersion: rv},
	}
}

func TestSinkWritesWhatClientGoWrites(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "x")
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "x", errors.New("no"))
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "x")
	at := func(d time.Duration) time.Time { return start.Add(d) }
	type step struct {
		// at is the time of the step: an event's time, or a timer's.
		at time.Duration
		// ev is recorded; else refresh or finish runs.
		ev              *eventsv1.Event
		refresh, finish bool
	}
	tests := []struct {
		name   string
		errors []error
		steps  []step
		want   []string
		// remembered is how many events the sink holds at the end.
		remembered int
	}{
		{
			name:       "a single event is created once and forgotten after 6 minutes",
			steps:      []step{{ev: event("a", "1", "Issued", "n1", at(0))}, {at: 5 * time.Minute, finish: true}, {at: 7 * time.Minute, finish: true}},
			want:       []string{fmt.Sprintf("create a.%d n1 0", at(0).UnixNano())},
			remembered: 0,
		},
		{
			name: "events about other versions of the object are not a series",
			steps: []step{
				{ev: event("a", "1", "Issued", "n1", at(0))},
				{at: time.Second, ev: event("a", "2", "Issued", "n2", at(time.Second))},
			},
			want:       []string{fmt.Sprintf("create a.%d n1 0", at(0).UnixNano()), fmt.Sprintf("create a.%d n2 0", at(time.Second).UnixNano())},
			remembered: 2,
		},
		{
			name: "a repeat makes the first event a series; later repeats are counted, written every 30 minutes and at the end",
			steps: []step{
				{ev: event("a", "1", "Failed", "n1", at(0))},
				{at: time.Minute, ev: event("a", "1", "Failed", "n2", at(time.Minute))},
				{at: 2 * time.Minute, ev: event("a", "1", "Failed", "n3", at(2*time.Minute))},
				{at: 3 * time.Minute, refresh: true},
				{at: 7 * time.Minute, finish: true},
				{at: 9 * time.Minute, finish: true},
			},
			want: []string{
				fmt.Sprintf("create a.%d n1 0", at(0).UnixNano()),
				fmt.Sprintf("patch a.%d 2", at(0).UnixNano()),
				fmt.Sprintf("patch a.%d 3", at(0).UnixNano()),
				fmt.Sprintf("patch a.%d 3", at(0).UnixNano()),
			},
			remembered: 0,
		},
		{
			name:   "a series whose event is gone is created with its count",
			errors: []error{nil, notFound},
			steps: []step{
				{ev: event("a", "1", "Failed", "n1", at(0))},
				{at: time.Minute, ev: event("a", "1", "Failed", "n2", at(time.Minute))},
			},
			want: []string{
				fmt.Sprintf("create a.%d n1 0", at(0).UnixNano()),
				fmt.Sprintf("patch a.%d 2", at(0).UnixNano()),
				fmt.Sprintf("create a.%d n2 2", at(0).UnixNano()),
			},
			remembered: 1,
		},
		{
			name:       "an unreachable API server is retried",
			errors:     []error{errors.New("connection refused"), errors.New("connection refused")},
			steps:      []step{{ev: event("a", "1", "Issued", "n1", at(0))}},
			want:       []string{fmt.Sprintf("create a.%d n1 0", at(0).UnixNano()), fmt.Sprintf("create a.%d n1 0", at(0).UnixNano()), fmt.Sprintf("create a.%d n1 0", at(0).UnixNano())},
			remembered: 1,
		},
		{
			name:       "an event the API server rejects is not retried",
			errors:     []error{forbidden},
			steps:      []step{{ev: event("a", "1", "Issued", "n1", at(0))}},
			want:       []string{fmt.Sprintf("create a.%d n1 0", at(0).UnixNano())},
			remembered: 1,
		},
		{
			name:   "a series event created meanwhile is patched again",
			errors: []error{nil, notFound, exists},
			steps: []step{
				{ev: event("a", "1", "Failed", "n1", at(0))},
				{at: time.Minute, ev: event("a", "1", "Failed", "n2", at(time.Minute))},
			},
			want: []string{
				fmt.Sprintf("create a.%d n1 0", at(0).UnixNano()),
				fmt.Sprintf("patch a.%d 2", at(0).UnixNano()),
				fmt.Sprintf("create a.%d n2 2", at(0).UnixNano()),
				fmt.Sprintf("patch a.%d 2", at(0).UnixNano()),
			},
			remembered: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSink{errors: tt.errors}
			clk := clocktesting.NewFakeClock(start)
			s := NewSink(fake, clk, logr.Discard())
			s.sleep = func(time.Duration) {}
			for _, st := range tt.steps {
				clk.SetTime(start.Add(st.at))
				switch {
				case st.ev != nil:
					before := st.ev.DeepCopy()
					s.Record(st.ev)
					s.writes.Wait()
					if !reflect.DeepEqual(before, st.ev) {
						t.Fatalf("Record modified the event")
					}
				case st.refresh:
					s.Refresh(context.Background())
				case st.finish:
					s.Finish(context.Background())
				}
			}
			if !reflect.DeepEqual(fake.calls, tt.want) {
				t.Errorf("writes:\n got %q\nwant %q", fake.calls, tt.want)
			}
			if got := s.Len(); got != tt.remembered {
				t.Errorf("remembered %d events, want %d", got, tt.remembered)
			}
		})
	}
}

// The series patch is the one client-go computes: the strategic merge
// difference between the event without and with its series.
func TestSeriesPatchIsClientGos(t *testing.T) {
	ev := event("a", "1", "Failed", "n1", start)
	ev.Series = &eventsv1.EventSeries{Count: 7, LastObservedTime: metav1.MicroTime{Time: start.Add(90 * time.Second)}}
	without := ev.DeepCopy()
	without.Series = nil
	oldData, err := json.Marshal(without)
	if err != nil {
		t.Fatal(err)
	}
	newData, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want, err := strategicpatch.CreateTwoWayMergePatch(oldData, newData, eventsv1.Event{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := seriesPatch(ev.Series)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("patch %s, client-go's %s", got, want)
	}
}
