/*-------------------------------------------------------------------------
 *
 * os_xml.c
 *	  The small XML reader of the object-store client and the documents it
 *	  reads: S3's ListObjectsV2 page, Azure's List Blobs page and the error
 *	  document (<Code>, <Message>) of both.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "objectstore.h"
#include "os_int.h"

/* ---------- a small XML reader ---------- */

/*
 * S3 answers are small, flat documents; a full XML library is not needed
 * to read them, but what we read must be read right: entities and
 * character references are decoded, CDATA is taken as is, a document that
 * is not well formed is refused, and a DTD is refused outright.
 * Namespace prefixes are ignored.  The walker reports each element start
 * and, for elements without child elements, their decoded text.
 */
typedef enum XmlEvent
{
	XML_START,
	XML_LEAF
} XmlEvent;

typedef void (*XmlFn) (void *arg, XmlEvent ev, int depth,
					   const char *const *names, const char *text);

/* the local part of a (possibly prefixed) name */
static const char *
xml_local(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

static bool
xml_name_char(char c)
{
	return !(c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
			 c == '>' || c == '/' || c == '=' || c == '<' || c == '"' ||
			 c == '\'');
}

/* append text [p, end) with its references decoded */
static bool
xml_append_text(StringInfo out, const char *p, const char *end, char **errmsg)
{
	static const struct
	{
		const char *name;
		char		c;
	}			entities[] = {
		{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''},
	};

	while (p < end)
	{
		const char *semi;
		int			i;

		if (*p != '&')
		{
			appendStringInfoChar(out, *p++);
			continue;
		}
		semi = memchr(p, ';', end - p);
		if (semi == NULL || semi - p > 12)
			goto bad;
		p++;
		if (*p == '#')
		{
			char	   *stop;
			unsigned long cp;

			if (p[1] == 'x')
				cp = strtoul(p + 2, &stop, 16);
			else
				cp = strtoul(p + 1, &stop, 10);
			if (stop != semi || stop == p + 1 || stop == p + 2 ||
				cp == 0 || cp > 0x10FFFF)
				goto bad;
			{
				unsigned char utf8[4];

				unicode_to_utf8((pg_wchar) cp, utf8);
				appendBinaryStringInfo(out, (char *) utf8, pg_utf_mblen(utf8));
			}
			p = semi + 1;
			continue;
		}
		for (i = 0; i < (int) lengthof(entities); i++)
			if (strncmp(p, entities[i].name, strlen(entities[i].name)) == 0)
				break;
		if (i == (int) lengthof(entities))
			goto bad;
		appendStringInfoChar(out, entities[i].c);
		p = semi + 1;
	}
	return true;
bad:
	*errmsg = pstrdup("malformed XML: bad entity or character reference");
	return false;
}

/* skip a start tag's attributes up to '>' or "/>" */
static const char *
xml_skip_attributes(const char *p, const char *end, bool *empty)
{
	char		quote = 0;

	for (; p < end; p++)
	{
		if (quote)
		{
			if (*p == quote)
				quote = 0;
		}
		else if (*p == '"' || *p == '\'')
			quote = *p;
		else if (*p == '>')
		{
			*empty = false;
			return p + 1;
		}
		else if (*p == '/' && p + 1 < end && p[1] == '>')
		{
			*empty = true;
			return p + 2;
		}
		else if (*p == '<')
			return NULL;
	}
	return NULL;
}

static const char *
xml_find(const char *p, const char *end, const char *what)
{
	size_t		len = strlen(what);

	for (; p + len <= end; p++)
		if (memcmp(p, what, len) == 0)
			return p;
	return NULL;
}

/* the walker's state: the open elements and the text of the innermost */
typedef struct XmlWalk
{
	const char *end;
	XmlFn		fn;
	void	   *arg;
	char	   *names[OS_XML_MAX_DEPTH];
	bool		has_child[OS_XML_MAX_DEPTH];
	int			depth;
	bool		seen_root;
	StringInfoData text;
} XmlWalk;

/* "</name>" at p, closing the innermost element; NULL if it does not */
static const char *
xml_end_tag(XmlWalk *w, const char *p)
{
	const char *q = p + 2;

	while (q < w->end && xml_name_char(*q))
		q++;
	if (w->depth == 0 || (size_t) (q - (p + 2)) != strlen(w->names[w->depth - 1]) ||
		strncmp(p + 2, w->names[w->depth - 1], q - (p + 2)) != 0)
		return NULL;
	while (q < w->end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'))
		q++;
	if (q >= w->end || *q != '>')
		return NULL;
	if (!w->has_child[w->depth - 1])
		w->fn(w->arg, XML_LEAF, w->depth, (const char *const *) w->names, w->text.data);
	w->depth--;
	resetStringInfo(&w->text);
	return q + 1;
}

/* "<name ...>" or "<name .../>" at p; NULL if malformed */
static const char *
xml_start_tag(XmlWalk *w, const char *p)
{
	const char *q = p + 1;
	bool		empty;

	while (q < w->end && xml_name_char(*q))
		q++;
	if (q == p + 1 || w->depth == OS_XML_MAX_DEPTH || (w->depth == 0 && w->seen_root))
		return NULL;
	if (w->depth > 0)
		w->has_child[w->depth - 1] = true;
	w->names[w->depth] = pnstrdup(p + 1, q - (p + 1));
	w->has_child[w->depth] = false;
	w->depth++;
	w->seen_root = true;
	resetStringInfo(&w->text);
	w->fn(w->arg, XML_START, w->depth, (const char *const *) w->names, NULL);
	if ((q = xml_skip_attributes(q, w->end, &empty)) != NULL && empty)
	{
		w->fn(w->arg, XML_LEAF, w->depth, (const char *const *) w->names, "");
		w->depth--;
	}
	return q;
}

static bool
xml_walk(const char *xml, size_t len, XmlFn fn, void *arg, char **errmsg)
{
	XmlWalk		w;
	const char *p = xml;

	memset(&w, 0, sizeof(w));
	/* Azure starts its documents with a UTF-8 byte order mark */
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	w.end = xml + len;
	w.fn = fn;
	w.arg = arg;
	initStringInfo(&w.text);
	while (p != NULL && p < w.end)
	{
		const char *q;

		if (*p != '<')
		{
			/* text: kept for the innermost element, only blanks outside */
			q = memchr(p, '<', w.end - p);
			if (q == NULL)
				q = w.end;
			if (w.depth > 0)
			{
				if (!xml_append_text(&w.text, p, q, errmsg))
					return false;
			}
			else if (strspn(p, " \t\r\n") < (size_t) (q - p))
				break;
			p = q;
		}
		else if (os_starts_with(p, "<?") || os_starts_with(p, "<!--"))
		{
			q = xml_find(p, w.end, p[1] == '?' ? "?>" : "-->");
			p = q ? q + (p[1] == '?' ? 2 : 3) : NULL;
		}
		else if (os_starts_with(p, "<![CDATA["))
		{
			q = xml_find(p, w.end, "]]>");
			if (q == NULL || w.depth == 0)
				break;
			appendBinaryStringInfo(&w.text, p + 9, q - (p + 9));
			p = q + 3;
		}
		else if (p[1] == '!')
		{
			*errmsg = pstrdup("malformed XML: a DTD is not accepted");
			return false;
		}
		else
			p = p[1] == '/' ? xml_end_tag(&w, p) : xml_start_tag(&w, p);
	}
	if (p == w.end && w.depth == 0 && w.seen_root)
		return true;
	*errmsg = pstrdup("malformed XML document");
	return false;
}

/* room for one more item in an array of n (doubling; NULL to start) */
static void *
os_grow(void *array, size_t item, int n, int *max)
{
	if (n < *max)
		return array;
	*max = Max(16, *max * 2);
	return array ? repalloc(array, item * *max) : palloc(item * *max);
}

/* ListObjectsV2 */
typedef struct ListParse
{
	CbOsListPage *page;
	bool		root_ok;
	int			maxobjects;
	int			maxprefixes;
	bool		bad_size;
} ListParse;

static void
list_xml_event(void *arg, XmlEvent ev, int depth, const char *const *names,
			   const char *text)
{
	ListParse  *lp = arg;
	CbOsListPage *page = lp->page;
	const char *name = xml_local(names[depth - 1]);

	if (depth == 1)
	{
		if (ev == XML_START)
			lp->root_ok = strcmp(name, "ListBucketResult") == 0;
		return;
	}
	if (!lp->root_ok)
		return;
	if (depth == 2 && ev == XML_START)
	{
		if (strcmp(name, "Contents") == 0)
		{
			page->objects = os_grow(page->objects, sizeof(CbOsObject),
									page->nobjects, &lp->maxobjects);
			memset(&page->objects[page->nobjects], 0, sizeof(CbOsObject));
			page->objects[page->nobjects++].size = -1;
		}
		else if (strcmp(name, "CommonPrefixes") == 0)
		{
			page->prefixes = os_grow(page->prefixes, sizeof(char *),
									 page->nprefixes, &lp->maxprefixes);
			page->prefixes[page->nprefixes++] = NULL;
		}
	}
	else if (depth == 2 && ev == XML_LEAF)
	{
		if (strcmp(name, "IsTruncated") == 0)
			page->is_truncated = strcmp(text, "true") == 0;
		else if (strcmp(name, "NextContinuationToken") == 0)
			page->next_token = pstrdup(text);
	}
	else if (depth == 3 && ev == XML_LEAF)
	{
		const char *parent = xml_local(names[1]);

		if (strcmp(parent, "Contents") == 0 && page->nobjects > 0)
		{
			CbOsObject *o = &page->objects[page->nobjects - 1];

			if (strcmp(name, "Key") == 0)
				o->key = pstrdup(text);
			else if (strcmp(name, "ETag") == 0)
				o->etag = pstrdup(text);
			else if (strcmp(name, "LastModified") == 0)
				o->last_modified = pstrdup(text);
			else if (strcmp(name, "Size") == 0)
			{
				char	   *stop;

				o->size = strtoll(text, &stop, 10);
				if (stop == text || *stop != '\0' || o->size < 0)
					lp->bad_size = true;
			}
		}
		else if (strcmp(parent, "CommonPrefixes") == 0 &&
				 strcmp(name, "Prefix") == 0 && page->nprefixes > 0)
			page->prefixes[page->nprefixes - 1] = pstrdup(text);
	}
}

/* every entry of a parsed page has its key and size, every prefix its text */
static bool
list_page_complete(ListParse *lp, const char *complaint, char **errmsg)
{
	CbOsListPage *page = lp->page;

	for (int i = 0; i < page->nobjects; i++)
		if (page->objects[i].key == NULL || page->objects[i].size < 0)
			lp->bad_size = true;
	for (int i = 0; i < page->nprefixes; i++)
		if (page->prefixes[i] == NULL)
			lp->bad_size = true;
	if (lp->bad_size)
	{
		*errmsg = pstrdup(complaint);
		return false;
	}
	return true;
}

bool
cb_os_parse_list_xml(const char *xml, size_t len, CbOsListPage *page,
					 char **errmsg)
{
	ListParse	lp;

	memset(page, 0, sizeof(CbOsListPage));
	memset(&lp, 0, sizeof(lp));
	lp.page = page;
	if (!xml_walk(xml, len, list_xml_event, &lp, errmsg))
		return false;
	if (!lp.root_ok)
	{
		*errmsg = pstrdup("the answer is not a ListBucketResult");
		return false;
	}
	return list_page_complete(&lp, "a ListBucketResult entry lacks its Key, Size or Prefix",
							  errmsg);
}

/*
 * List Blobs: EnumerationResults / Blobs / Blob (Name, Properties /
 * Content-Length, Etag, Last-Modified) and Blobs / BlobPrefix / Name;
 * NextMarker, empty on the last page.
 */
static void
azure_list_event(void *arg, XmlEvent ev, int depth, const char *const *names,
				 const char *text)
{
	ListParse  *lp = arg;
	CbOsListPage *page = lp->page;
	const char *name = xml_local(names[depth - 1]);

	if (depth == 1 && ev == XML_START)
		lp->root_ok = strcmp(name, "EnumerationResults") == 0;
	if (!lp->root_ok || depth < 2)
		return;
	if (depth == 2 && ev == XML_LEAF && strcmp(name, "NextMarker") == 0)
	{
		page->is_truncated = text[0] != '\0';
		page->next_token = pstrdup(text);
	}
	else if (depth == 3 && ev == XML_START && strcmp(xml_local(names[1]), "Blobs") == 0)
	{
		/* the same rows as ListObjectsV2's Contents and CommonPrefixes */
		if (strcmp(name, "Blob") == 0)
			list_xml_event(arg, XML_START, 2, (const char *const[]) {"", "Contents"}, NULL);
		else if (strcmp(name, "BlobPrefix") == 0)
			list_xml_event(arg, XML_START, 2, (const char *const[]) {"", "CommonPrefixes"}, NULL);
	}
	else if (ev == XML_LEAF && (depth == 4 || depth == 5))
	{
		const char *row = xml_local(names[2]);
		const char *field = strcmp(name, "Name") == 0 ?
			(strcmp(row, "Blob") == 0 ? "Key" : "Prefix") :
			strcmp(name, "Content-Length") == 0 ? "Size" :
			strcmp(name, "Etag") == 0 ? "ETag" :
			strcmp(name, "Last-Modified") == 0 ? "LastModified" : NULL;

		if (field == NULL || (depth == 4) != (strcmp(name, "Name") == 0))
			return;
		list_xml_event(arg, XML_LEAF, 3, (const char *const[]) {"",
					   strcmp(row, "Blob") == 0 ? "Contents" : "CommonPrefixes", field},
					   text);
	}
}

bool
cb_os_parse_azure_list_xml(const char *xml, size_t len, CbOsListPage *page,
						   char **errmsg)
{
	ListParse	lp;

	memset(page, 0, sizeof(CbOsListPage));
	memset(&lp, 0, sizeof(lp));
	lp.page = page;
	if (!xml_walk(xml, len, azure_list_event, &lp, errmsg))
		return false;
	if (!lp.root_ok)
	{
		*errmsg = pstrdup("the answer is not an EnumerationResults");
		return false;
	}
	return list_page_complete(&lp, "a List Blobs entry lacks its Name or Content-Length",
							  errmsg);
}

/* <Error><Code/><Message/></Error> */
typedef struct ErrorParse
{
	bool		root_ok;
	char	   *code;
	char	   *message;
} ErrorParse;

static void
error_xml_event(void *arg, XmlEvent ev, int depth, const char *const *names,
				const char *text)
{
	ErrorParse *ep = arg;
	const char *name = xml_local(names[depth - 1]);

	if (depth == 1 && ev == XML_START)
		ep->root_ok = strcmp(name, "Error") == 0;
	else if (depth == 2 && ev == XML_LEAF && ep->root_ok)
	{
		if (strcmp(name, "Code") == 0)
			ep->code = pstrdup(text);
		else if (strcmp(name, "Message") == 0)
			ep->message = pstrdup(text);
	}
}

bool
cb_os_parse_error_xml(const char *xml, size_t len, char **code, char **message)
{
	ErrorParse	ep;
	char	   *errmsg;

	memset(&ep, 0, sizeof(ep));
	if (!xml_walk(xml, len, error_xml_event, &ep, &errmsg) || !ep.root_ok ||
		ep.code == NULL)
		return false;
	*code = ep.code;
	*message = ep.message;
	return true;
}
