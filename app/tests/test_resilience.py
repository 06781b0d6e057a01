"""The circuit breaker and the request reader on their own (tests/resilience.test.ts runs them
against a hung Redis, a frozen PostgreSQL and slow clients)."""
import threading
from unittest import TestCase

from resilience import Breaker, redis_cache_options
from web_worker import BUFFERED_REQUEST_BYTES, request_complete


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class BreakerTest(TestCase):
    def setUp(self) -> None:
        self.clock = FakeClock()
        self.breaker = Breaker("test", failures=2, cooldown=5, clock=self.clock)

    def test_opens_after_failures_in_a_row_only(self) -> None:
        self.breaker.failure()
        self.breaker.success()
        self.breaker.failure()
        self.assertEqual(self.breaker.state, "closed")
        self.assertTrue(self.breaker.allow())
        self.breaker.failure()
        self.assertEqual(self.breaker.state, "open")
        self.assertFalse(self.breaker.allow())

    def test_half_open_lets_exactly_one_trial_through_after_the_cooldown(self) -> None:
        self.breaker.failure()
        self.breaker.failure()
        self.clock.now += 4.9
        self.assertFalse(self.breaker.allow())
        self.clock.now += 0.2
        self.assertTrue(self.breaker.allow())
        other: list[bool] = []
        thread = threading.Thread(target=lambda: other.append(self.breaker.allow()))
        thread.start()
        thread.join()
        self.assertEqual(other, [False], "a second caller waits for the trial's outcome")
        self.breaker.failure()
        self.assertEqual(self.breaker.state, "open", "a failed trial opens the circuit again")
        self.clock.now += 5
        self.assertTrue(self.breaker.allow())
        self.breaker.success()
        self.assertEqual(self.breaker.state, "closed")
        self.assertTrue(self.breaker.allow() and self.breaker.allow())

    def test_the_trial_is_its_threads_until_its_outcome_is_known(self) -> None:
        # Django connects (ensure_connection), then opens a cursor: two calls of one trial.
        self.breaker.trip()
        self.clock.now += 5
        self.assertTrue(self.breaker.allow())
        self.assertTrue(self.breaker.allow(), "the trial's own thread goes on")
        other: list[bool] = []
        thread = threading.Thread(target=lambda: other.append(self.breaker.allow()))
        thread.start()
        thread.join()
        self.assertEqual(other, [False], "another thread waits for the trial's outcome")
        self.breaker.success()
        self.assertEqual(self.breaker.state, "closed")

    def test_a_trial_that_never_reports_is_handed_on_a_cooldown_later(self) -> None:
        self.breaker.trip()
        self.clock.now += 5
        self.assertTrue(self.breaker.allow())  # this thread takes the trial and says nothing more
        results: list[bool] = []
        probe = lambda: results.append(self.breaker.allow())  # noqa: E731
        for advance in (4.9, 0.2):
            self.clock.now += advance
            thread = threading.Thread(target=probe)
            thread.start()
            thread.join()
        self.assertEqual(results, [False, True], "stuck for a cool-down at most, not for ever")

    def test_remembers_its_last_success(self) -> None:
        self.assertFalse(self.breaker.succeeded_within(1))
        self.breaker.success()
        self.clock.now += 0.5
        self.assertTrue(self.breaker.succeeded_within(1))
        self.clock.now += 1
        self.assertFalse(self.breaker.succeeded_within(1))

    def test_trip_opens_at_once(self) -> None:
        self.breaker.trip()
        self.assertEqual(self.breaker.state, "open")


class CacheOptionsTest(TestCase):
    def test_the_client_class_is_the_breaking_one_and_importable_by_django_redis(self) -> None:
        from django.utils.module_loading import import_string

        options = redis_cache_options("secret")
        self.assertEqual(import_string(options["REDIS_CLIENT_CLASS"]).__name__, "CircuitBreakerRedis")
        self.assertIs(options["IGNORE_EXCEPTIONS"], True)
        self.assertEqual(options["PASSWORD"], "secret")


class RequestCompleteTest(TestCase):
    def test_head_then_body(self) -> None:
        head = b"POST /tasks/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        self.assertFalse(request_complete(head[:20]))
        self.assertFalse(request_complete(head))
        self.assertFalse(request_complete(head + b"12345"))
        self.assertTrue(request_complete(head + b"1234567890"))

    def test_get_without_body(self) -> None:
        self.assertTrue(request_complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))

    def test_large_chunked_and_expect_bodies_go_to_a_thread_after_the_buffer_or_the_head(self) -> None:
        big = b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
        self.assertFalse(request_complete(big + b"x" * 100))
        self.assertTrue(request_complete(big + b"x" * BUFFERED_REQUEST_BYTES))
        self.assertTrue(request_complete(b"POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"))
        self.assertTrue(request_complete(b"POST /u HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"))

    def test_an_endless_head_is_handed_over_at_the_buffer_size(self) -> None:
        self.assertFalse(request_complete(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 100))
        self.assertTrue(request_complete(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * (BUFFERED_REQUEST_BYTES // 8)))

    def test_malformed_lengths_are_left_to_gunicorn(self) -> None:
        self.assertTrue(request_complete(b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n"))
