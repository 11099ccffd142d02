package controller

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// maxRetryDelay caps the delay between retries of a reconcile that failed.
// Such a failure is the Kubernetes API's (token server failures go to
// status with their own backoff), so it usually means the API server or
// etcd is away. controller-runtime's default cap of 1000 s would then leave
// due refreshes waiting for minutes after the API server is back; with
// this cap they happen within seconds, and a credential still retries at
// most every few seconds while the API server is down.
const maxRetryDelay = 5 * time.Second

// retryRateLimiter is controller-runtime's default limiter with the
// per-item delay capped at maxRetryDelay: 5 ms doubling per failure, and at
// most 10 retries a second (bursts of 100) over all credentials.
func retryRateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}
