// Package eventrecorder records events to events.k8s.io with client-go's
// events library, as controller-runtime's recorder does, but remembers of
// each recent event only what a series needs.
//
// client-go's broadcaster keeps a deep copy of every event it recorded in
// the last 6 to 12 minutes, to turn repeats into a series: about 1.1 KB an
// event, 11 MB after 10,000 credentials got their first token. This sink
// keeps a digest of the event's identity, its name and its time, about 120
// bytes; only an event that actually repeats (a series, which is rare: the
// regarding object's resourceVersion is part of the identity) is kept
// whole. What reaches the API server is the same: the first occurrence is
// created, the second turns it into a series, later ones are counted and
// written every 30 minutes and when the series ends.
package eventrecorder

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	typedeventsv1 "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// The timings of client-go's broadcaster.
const (
	// finishTime is how long an event is remembered after its last
	// occurrence; a repeat within it makes or extends a series.
	finishTime = 6 * time.Minute
	// refreshTime is how often running series are written.
	refreshTime = 30 * time.Minute
	// Writes that fail for want of the API server are retried this often,
	// this many times.
	retryDelay       = 10 * time.Second
	maxTriesPerEvent = 12
)

// New starts recording events to the API server with client and returns a
// recorder for the reporting controller name. Events are logged to logger
// at V(1), as controller-runtime's recorder logs them. The series timers
// stop with ctx; events keep being recorded for the life of the process,
// so the reconciles that finish during a graceful shutdown still record
// theirs (controller-runtime stops its recorder after everything else).
func New(ctx context.Context, client typedeventsv1.EventsV1Interface, scheme *runtime.Scheme, name string, logger logr.Logger) (recorder.EventRecorder, error) {
	sink := NewSink(&events.EventSinkImpl{Interface: client}, clock.RealClock{}, logger)
	// The broadcaster only hands the recorder's events to the watchers
	// below: it is never started recording to a sink itself, so it caches
	// nothing.
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client})
	stopSink, err := broadcaster.StartEventWatcher(func(obj runtime.Object) {
		if ev, ok := obj.(*eventsv1.Event); ok {
			sink.Record(ev)
		}
	})
	if err != nil {
		return nil, err
	}
	stopLogging, err := broadcaster.StartLogging(logger.V(1))
	if err != nil {
		stopSink()
		return nil, err
	}
	rec, ok := broadcaster.NewRecorder(scheme, name).(recorder.EventRecorder)
	if !ok {
		stopSink()
		stopLogging()
		return nil, errors.New("client-go's event recorder does not record annotated events")
	}
	go wait.UntilWithContext(ctx, sink.Refresh, refreshTime)
	go wait.UntilWithContext(ctx, sink.Finish, finishTime)
	return rec, nil
}

// NewForConfig is New with an events.k8s.io client for config, sharing
// httpClient's connections (the manager's GetHTTPClient).
func NewForConfig(ctx context.Context, config *rest.Config, httpClient *http.Client, scheme *runtime.Scheme, name string, logger logr.Logger) (recorder.EventRecorder, error) {
	client, err := typedeventsv1.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	return New(ctx, client, scheme, name, logger)
}

// key is a digest of what makes two events the same for a series: type,
// action, reason, reporting controller and instance, regarding and related
// object (client-go's eventKey).
type key [16]byte

func keyOf(ev *eventsv1.Event) key {
	parts := struct {
		Type, Action, Reason, Controller, Instance string
		Regarding                                  any
		Related                                    any
	}{ev.Type, ev.Action, ev.Reason, ev.ReportingController, ev.ReportingInstance, ev.Regarding, ev.Related}
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	var k key
	copy(k[:], sum[:])
	return k
}

// recent is a recorded event: its name and time, and, once it repeated,
// the whole event with its series.
type recent struct {
	name, namespace string
	eventTime       time.Time
	series          *eventsv1.Event
}

// Sink writes events and their series to an events.EventSink.
type Sink struct {
	sink   events.EventSink
	clock  clock.WithTicker
	logger logr.Logger
	// sleep waits between retries; tests replace it.
	sleep func(time.Duration)

	mu     sync.Mutex
	recent map[key]*recent
	// writes counts writes under way, for tests.
	writes sync.WaitGroup
}

// NewSink returns a Sink writing to sink.
func NewSink(sink events.EventSink, clk clock.WithTicker, logger logr.Logger) *Sink {
	return &Sink{sink: sink, clock: clk, logger: logger, sleep: jitteredSleep, recent: map[key]*recent{}}
}

func jitteredSleep(d time.Duration) { time.Sleep(wait.Jitter(d, 0.25)) }

// Record writes ev, or counts it in its series; it does not wait for the
// API server. ev is not modified.
func (s *Sink) Record(ev *eventsv1.Event) {
	k := keyOf(ev)
	now := s.clock.Now()
	s.mu.Lock()
	r, seen := s.recent[k]
	var write *eventsv1.Event
	switch {
	case !seen:
		s.recent[k] = &recent{name: ev.Name, namespace: ev.Namespace, eventTime: ev.EventTime.Time}
		write = ev
	case r.series == nil:
		// The first repeat: the event recorded first becomes a series.
		r.series = ev.DeepCopy()
		r.series.Name, r.series.Namespace = r.name, r.namespace
		r.series.EventTime = metav1.MicroTime{Time: r.eventTime}
		r.series.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.MicroTime{Time: now}}
		write = r.series.DeepCopy()
	default:
		r.series.Series.Count++
		r.series.Series.LastObservedTime = metav1.MicroTime{Time: now}
	}
	s.mu.Unlock()
	if write != nil {
		s.writes.Go(func() { s.attempt(write) })
	}
}

// Refresh writes every running series, so their events outlive the API
// server's event TTL.
func (s *Sink) Refresh(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recent {
		if r.series != nil {
			s.write(r.series.DeepCopy())
		}
	}
}

// Finish forgets events that did not repeat for finishTime, writing the
// final count of a series first.
func (s *Sink) Finish(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.clock.Now().Add(-finishTime)
	for k, r := range s.recent {
		switch {
		case r.series == nil && r.eventTime.Before(cutoff):
			delete(s.recent, k)
		case r.series != nil && r.series.Series.LastObservedTime.Time.Before(cutoff):
			if retry := s.write(r.series.DeepCopy()); !retry {
				delete(s.recent, k)
			}
		}
	}
}

// Len is how many events the sink remembers.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recent)
}

// attempt writes ev, retrying while the API server cannot be reached.
func (s *Sink) attempt(ev *eventsv1.Event) {
	for tries := 1; s.write(ev); tries++ {
		if tries >= maxTriesPerEvent {
			s.logger.Error(nil, "unable to write event (retry limit exceeded)", "reason", ev.Reason, "object", ev.Regarding)
			return
		}
		s.sleep(retryDelay)
	}
}

// write creates ev, or patches its series into the event recorded first
// (creating it when it is gone), and says whether to try again.
func (s *Sink) write(ev *eventsv1.Event) (retry bool) {
	ctx := context.Background()
	var err error
	if ev.Series != nil {
		var patch []byte
		if patch, err = seriesPatch(ev.Series); err != nil {
			s.logger.Error(err, "unable to write an event series")
			return false
		}
		_, err = s.sink.Patch(ctx, ev, patch)
	}
	if ev.Series == nil || apierrors.IsNotFound(err) {
		create := ev.DeepCopy()
		create.ResourceVersion = ""
		_, err = s.sink.Create(ctx, create)
	}
	if err == nil {
		return false
	}
	var reqErr *rest.RequestConstructionError
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &reqErr):
		s.logger.Error(err, "unable to construct event (will not retry)", "reason", ev.Reason, "object", ev.Regarding)
		return false
	case apierrors.IsAlreadyExists(err):
		// A series whose event was gone and is back: patch it again.
		return ev.Series != nil
	case errors.As(err, &status):
		s.logger.Error(err, "server rejected event (will not retry)", "reason", ev.Reason, "object", ev.Regarding)
		return false
	}
	s.logger.Error(err, "unable to write event (may retry after sleeping)", "reason", ev.Reason)
	return true
}

// seriesPatch is the strategic merge patch that sets a series: what
// client-go computes as the difference between the event without and with
// it.
func seriesPatch(series *eventsv1.EventSeries) ([]byte, error) {
	return json.Marshal(map[string]any{"series": series})
}
