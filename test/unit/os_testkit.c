/*-------------------------------------------------------------------------
 *
 * os_testkit.c
 *	  Helpers shared by test_objectstore and test_azureblob: a clock and a
 *	  stop flag, a fake HTTP server, the rig's output.  See os_testkit.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os_testkit.h"

volatile sig_atomic_t stop_requested = 0;
double		stop_time = 0;

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
stop_handler(int sig)
{
	stop_requested = 1;
	stop_time = now_s();
}

bool
contains(const char *s, const char *what)
{
	return s != NULL && strstr(s, what) != NULL;
}

/* ---------- the fake HTTP server ---------- */

void
fake_send(int fd, const char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t		w = write(fd, data, len);

		if (w <= 0)
			return;
		data += w;
		len -= w;
	}
}

/* a whole answer; headers, if any, each end with CRLF */
void
fake_reply(int fd, const char *status, const char *headers, const char *body, size_t len)
{
	char	   *head = psprintf("HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n",
								status, len, headers ? headers : "");

	fake_send(fd, head, strlen(head));
	fake_send(fd, body, len);
}

/* an S3-style error document */
void
fake_error(int fd, const char *status, const char *code, const char *message)
{
	char	   *body = psprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
								"<Message>%s</Message></Error>", code, message);

	fake_reply(fd, status, "Content-Type: application/xml\r\n", body, strlen(body));
}

/*
 * Fork a server on 127.0.0.1 that answers each connection with handler
 * (n counts the requests) and appends each request head to log.
 */
pid_t
fake_start(FakeHandler handler, const char *log, int *port)
{
	int			ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr;
	socklen_t	alen = sizeof(addr);
	int			one = 1;
	pid_t		pid;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *) &addr, sizeof(addr)) != 0 || listen(ls, 64) != 0 ||
		getsockname(ls, (struct sockaddr *) &addr, &alen) != 0)
	{
		perror("fake server");
		exit(2);
	}
	*port = ntohs(addr.sin_port);
	unlink(log);
	pid = fork();
	if (pid == 0)
	{
		for (int n = 0;; n++)
		{
			int			fd = accept(ls, NULL, NULL);
			char		req[16384];
			size_t		len = 0;
			FILE	   *f;

			if (fd < 0)
				_exit(0);
			while (len < sizeof(req) - 1)
			{
				ssize_t		r = read(fd, req + len, sizeof(req) - 1 - len);

				if (r <= 0)
					break;
				len += r;
				req[len] = '\0';
				if (strstr(req, "\r\n\r\n"))
					break;
			}
			req[len] = '\0';
			if ((f = fopen(log, "a")) != NULL)
			{
				fprintf(f, "%s", req);
				fclose(f);
			}
			handler(fd, n, req);
			close(fd);
		}
	}
	close(ls);
	return pid;
}

void
fake_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* the whole file (the request log), "" when there is none */
char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	StringInfoData s;
	char		buf[4096];
	size_t		n;

	initStringInfo(&s);
	if (f == NULL)
		return s.data;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		appendBinaryStringInfo(&s, buf, n);
	fclose(f);
	return s.data;
}

/* a receiver that collects into a StringInfo */
bool
collect(void *arg, const char *data, size_t len)
{
	appendBinaryStringInfo((StringInfo) arg, data, len);
	return true;
}

/* ---------- the rig's output ---------- */

void
print_error(const char *what, const CbOsError *err)
{
	printf("status=%s\nhttp=%d\ncode=%s\nmessage=%s\n", what, err->http_status,
		   err->code ? err->code : "", err->message ? err->message : "");
	if (err->hint)
		printf("hint=%s\n", err->hint);
}

const char *
status_word(CbOsStatus s)
{
	return s == CB_OS_OK ? "ok" : s == CB_OS_NOT_FOUND ? "notfound" : "error";
}

bool
file_write(void *arg, const char *data, size_t len)
{
	FileSink   *s = arg;

	s->bytes += len;
	return fwrite(data, 1, len, s->f) == len;
}

int
rig_list(CbOsClient *c, int argc, char **argv)
{
	CbOsListing l;
	CbOsError	err;
	double		t0 = now_s();

	if (argc != 3)
		return 2;
	if (cb_os_list(c, argv[0], strcmp(argv[1], "-") ? argv[1] : NULL, atoi(argv[2]), &l, &err) != CB_OS_OK)
	{
		print_error("error", &err);
		return 1;
	}
	printf("status=ok\npages=%d\nobjects=%d\nprefixes=%d\nseconds=%.3f\n",
		   l.npages, l.nobjects, l.nprefixes, now_s() - t0);
	for (int i = 0; i < l.nobjects; i++)
		printf("object=%s " INT64_FORMAT "\n", l.objects[i].key, l.objects[i].size);
	for (int i = 0; i < l.nprefixes; i++)
		printf("prefix=%s\n", l.prefixes[i]);
	return 0;
}

int
rig_head(CbOsClient *c, int argc, char **argv)
{
	CbOsObject	info;
	CbOsError	err;
	CbOsStatus	s;

	if (argc != 1)
		return 2;
	if ((s = cb_os_head(c, argv[0], &info, &err)) != CB_OS_OK)
	{
		print_error(status_word(s), &err);
		return 1;
	}
	printf("status=ok\nsize=" INT64_FORMAT "\netag=%s\n", info.size, info.etag ? info.etag : "");
	return 0;
}
