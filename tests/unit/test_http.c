#include "unit.h"

#include "http.h"

/* What each transfer ended with. */
struct ended {
	CURLcode rc;
	int calls;
};

static void on_done(struct http_xfer *x, CURLcode rc)
{
	struct ended *e = x->owner;

	e->rc = rc;
	e->calls++;
}

static void make(struct http_xfer *x, struct ended *e, bool paced)
{
	memset(x, 0, sizeof(*x));
	/* Port 1 on loopback: refused at once, no server needed. */
	assert_int_equal(http_xfer_setup(x, "http://127.0.0.1:1/", NULL, 5, false), 0);
	x->owner = e;
	x->on_done = on_done;
	x->paced = paced;
}

/* A pause (a 429 for the run) and a stop (quota, --fail-fast) hold API
 * requests only: downloads of images already paid for go on. */
static void test_pause_and_stop_hold_only_api_requests(void **state)
{
	struct http_loop loop;
	struct http_xfer api, dl1, dl2;
	struct ended e_api = { 0 }, e1 = { 0 }, e2 = { 0 };

	(void)state;
	assert_int_equal(http_loop_init(&loop, 4, NULL), 0);
	make(&api, &e_api, true);
	make(&dl1, &e1, false);
	make(&dl2, &e2, false);
	loop.paused_until = now_ms() + 3600 * 1000;
	loop.launch_interval = 3600 * 1000;
	http_loop_add(&loop, &api);
	http_loop_add(&loop, &dl1);
	http_loop_add(&loop, &dl2);
	http_loop_stop(&loop);
	assert_int_equal(http_loop_run(&loop), 0);
	assert_int_equal(api.launches, 0);
	assert_int_equal(e_api.calls, 1);
	assert_int_equal(e_api.rc, CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(dl1.launches, 1);
	assert_int_equal(dl2.launches, 1);
	assert_int_equal(e1.rc, CURLE_COULDNT_CONNECT);
	assert_int_equal(e2.rc, CURLE_COULDNT_CONNECT);
	http_xfer_release(&api);
	http_xfer_release(&dl1);
	http_xfer_release(&dl2);
	http_loop_release(&loop);
}

/* Queues keep not-before order, first come first served among equals. */
static void test_queue_order(void **state)
{
	struct http_loop loop;
	struct http_xfer x[5];
	struct ended e[5] = { 0 };
	static const int64_t due[5] = { 0, 0, -5, 0, -5 };

	(void)state;
	assert_int_equal(http_loop_init(&loop, 1, NULL), 0);
	for (int i = 0; i < 5; i++) {
		make(&x[i], &e[i], true);
		x[i].not_before = due[i];
		http_loop_add(&loop, &x[i]);
	}
	const struct http_xfer *order[5];
	int n = 0;
	for (const struct http_xfer *p = loop.paced.head; p; p = p->next)
		order[n++] = p;
	assert_int_equal(n, 5);
	assert_ptr_equal(order[0], &x[2]);
	assert_ptr_equal(order[1], &x[4]);
	assert_ptr_equal(order[2], &x[0]);
	assert_ptr_equal(order[3], &x[1]);
	assert_ptr_equal(order[4], &x[3]);
	assert_ptr_equal(loop.paced.tail, &x[3]);
	assert_int_equal(http_loop_run(&loop), 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(e[i].calls, 1);
		http_xfer_release(&x[i]);
	}
	http_loop_release(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_and_stop_hold_only_api_requests),
		cmocka_unit_test(test_queue_order),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
