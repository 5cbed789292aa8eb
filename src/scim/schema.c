/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2026 rosterd developers */
/*
 * SCIM schema tables (RFC 7643 §4, §8.7), attribute-path resolution, input
 * normalisation and output projection.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "scim/schema.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SUB(a) .sub = (a), .nsub = NELEM(a)

static const char *const type_wh_other[] = {"work", "home", "other", NULL};
static const char *const type_phone[] = {"work",  "home",  "mobile", "fax",
                                         "pager", "other", NULL};
static const char *const type_ims[] = {"aim",   "gtalk", "icq",   "xmpp", "msn",
                                       "skype", "qq",    "yahoo", NULL};
static const char *const type_photo[] = {"photo", "thumbnail", NULL};
static const char *const type_member[] = {"User", "Group", NULL};
static const char *const type_group_ref[] = {"direct", "indirect", NULL};
static const char *const ref_user_group[] = {"User", "Group", NULL};
static const char *const ref_user[] = {"User", NULL};
static const char *const ref_external[] = {"external", NULL};
static const char *const ref_uri[] = {"uri", NULL};
static const char *const gender_codes[] = {"M", "F", "U", NULL};
static const char *const emp_status[] = {"active", "leave", "terminated",
                                         "retired", NULL};

/* value/display/type/primary, the usual multi-valued sub-attributes */
#define MV_SUBS(arr, vtype, types, vdesc)                                      \
	static const struct scim_attr arr[] = {                                \
	    {.name = "value", .type = vtype, .desc = vdesc},                   \
	    {.name = "display",                                                \
	     .type = SCIM_T_STRING,                                            \
	     .desc = "A human-readable name, primarily used for display "      \
	             "purposes."},                                             \
	    {.name = "type",                                                   \
	     .type = SCIM_T_STRING,                                            \
	     .canonical = types,                                               \
	     .desc = "A label indicating the attribute's function."},          \
	    {.name = "primary",                                                \
	     .type = SCIM_T_BOOLEAN,                                           \
	     .desc = "Indicates the primary or preferred value."},             \
	}

MV_SUBS(sub_emails, SCIM_T_STRING, type_wh_other, "Email address.");
MV_SUBS(sub_phones, SCIM_T_STRING, type_phone, "Phone number.");
MV_SUBS(sub_ims, SCIM_T_STRING, type_ims, "Instant messaging address.");
static const struct scim_attr sub_photos[] = {
    {.name = "value",
     .type = SCIM_T_REFERENCE,
     .ref_types = ref_external,
     .desc = "URL of a photo."},
    {.name = "display",
     .type = SCIM_T_STRING,
     .desc = "A human-readable name, primarily used for display purposes."},
    {.name = "type",
     .type = SCIM_T_STRING,
     .canonical = type_photo,
     .desc = "A label indicating the attribute's function."},
    {.name = "primary",
     .type = SCIM_T_BOOLEAN,
     .desc = "Indicates the primary or preferred value."},
};
MV_SUBS(sub_entitlements, SCIM_T_STRING, NULL, "The value of an entitlement.");
MV_SUBS(sub_roles, SCIM_T_STRING, NULL, "The value of a role.");
MV_SUBS(sub_x509, SCIM_T_BINARY, NULL, "The value of an X.509 certificate.");

static const struct scim_attr sub_name[] = {
    {.name = "formatted",
     .type = SCIM_T_STRING,
     .desc = "The full name, formatted for display."},
    {.name = "familyName", .type = SCIM_T_STRING, .desc = "Family name."},
    {.name = "givenName", .type = SCIM_T_STRING, .desc = "Given name."},
    {.name = "middleName", .type = SCIM_T_STRING, .desc = "Middle name(s)."},
    {.name = "honorificPrefix",
     .type = SCIM_T_STRING,
     .desc = "Honorific prefix."},
    {.name = "honorificSuffix",
     .type = SCIM_T_STRING,
     .desc = "Honorific suffix."},
};

static const struct scim_attr sub_addresses[] = {
    {.name = "formatted",
     .type = SCIM_T_STRING,
     .desc = "The full mailing address."},
    {.name = "streetAddress",
     .type = SCIM_T_STRING,
     .desc = "The full street address."},
    {.name = "locality", .type = SCIM_T_STRING, .desc = "City or locality."},
    {.name = "region", .type = SCIM_T_STRING, .desc = "State or region."},
    {.name = "postalCode", .type = SCIM_T_STRING, .desc = "Postal code."},
    {.name = "country",
     .type = SCIM_T_STRING,
     .desc = "ISO 3166-1 alpha-2 country code."},
    {.name = "type",
     .type = SCIM_T_STRING,
     .canonical = type_wh_other,
     .desc = "A label indicating the attribute's function."},
    {.name = "primary",
     .type = SCIM_T_BOOLEAN,
     .desc = "Indicates the primary mailing address."},
};

static const struct scim_attr sub_groups[] = {
    {.name = "value",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .case_exact = true,
     .desc = "The identifier of the User's group."},
    {.name = "$ref",
     .type = SCIM_T_REFERENCE,
     .mut = SCIM_M_RO,
     .ref_types = ref_user_group,
     .desc = "The URI of the corresponding Group resource."},
    {.name = "display",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .desc = "The group's displayName."},
    {.name = "type",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .canonical = type_group_ref,
     .desc = "How the membership was derived: direct or indirect."},
};

static const struct scim_attr user_attrs[] = {
    {.name = "userName",
     .type = SCIM_T_STRING,
     .required = true,
     .uniq = SCIM_U_SERVER,
     .desc = "Unique identifier for the User, typically used to "
             "authenticate. Unique per tenant, case-insensitive."},
    {.name = "name",
     .type = SCIM_T_COMPLEX,
     SUB(sub_name),
     .desc = "The components of the user's real name."},
    {.name = "displayName",
     .type = SCIM_T_STRING,
     .desc = "The name of the User, suitable for display."},
    {.name = "nickName", .type = SCIM_T_STRING, .desc = "Casual name."},
    {.name = "profileUrl",
     .type = SCIM_T_REFERENCE,
     .ref_types = ref_external,
     .desc = "URL of the User's profile."},
    {.name = "title", .type = SCIM_T_STRING, .desc = "The user's title."},
    {.name = "userType",
     .type = SCIM_T_STRING,
     .desc = "The relationship between the organization and the user."},
    {.name = "preferredLanguage",
     .type = SCIM_T_STRING,
     .desc = "Preferred written or spoken language."},
    {.name = "locale",
     .type = SCIM_T_STRING,
     .desc = "Default location for localisation."},
    {.name = "timezone",
     .type = SCIM_T_STRING,
     .desc = "Time zone in IANA format."},
    {.name = "active",
     .type = SCIM_T_BOOLEAN,
     .desc = "The User's administrative status; false deactivates the "
             "user and counts as a termination for the feeds."},
    {.name = "password",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_WO,
     .ret = SCIM_R_NEVER,
     .desc = "Accepted and discarded: rosterd authenticates nobody."},
    {.name = "emails",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_emails),
     .desc = "Email addresses for the user."},
    {.name = "phoneNumbers",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_phones),
     .desc = "Phone numbers for the User."},
    {.name = "ims",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_ims),
     .desc = "Instant messaging addresses for the User."},
    {.name = "photos",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_photos),
     .desc = "URLs of photos of the User."},
    {.name = "addresses",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_addresses),
     .desc = "A physical mailing address."},
    {.name = "groups",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     .mut = SCIM_M_RO,
     SUB(sub_groups),
     .desc = "Groups the user belongs to, derived from Group members."},
    {.name = "entitlements",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_entitlements),
     .desc = "A list of entitlements."},
    {.name = "roles",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_roles),
     .desc = "A list of roles."},
    {.name = "x509Certificates",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_x509),
     .desc = "A list of certificates."},
};

static const struct scim_attr sub_manager[] = {
    {.name = "value",
     .type = SCIM_T_STRING,
     .desc = "The id of the SCIM resource representing the manager."},
    {.name = "$ref",
     .type = SCIM_T_REFERENCE,
     .ref_types = ref_user,
     .desc = "The URI of the manager's User resource."},
    {.name = "displayName",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .desc = "The displayName of the manager."},
};

static const struct scim_attr enterprise_attrs[] = {
    {.name = "employeeNumber",
     .type = SCIM_T_STRING,
     .desc = "Numeric or alphanumeric identifier assigned to a person."},
    {.name = "costCenter",
     .type = SCIM_T_STRING,
     .desc = "Identifies the name of a cost center."},
    {.name = "organization",
     .type = SCIM_T_STRING,
     .desc = "Identifies the name of an organization."},
    {.name = "division",
     .type = SCIM_T_STRING,
     .desc = "Identifies the name of a division."},
    {.name = "department",
     .type = SCIM_T_STRING,
     .desc = "Identifies the name of a department."},
    {.name = "manager",
     .type = SCIM_T_COMPLEX,
     SUB(sub_manager),
     .desc = "The User's manager."},
};

static const struct scim_attr eligibility_attrs[] = {
    {.name = "birthDate",
     .type = SCIM_T_STRING,
     .date_only = true,
     .desc = "Date of birth, YYYY-MM-DD."},
    {.name = "hireDate",
     .type = SCIM_T_STRING,
     .date_only = true,
     .desc = "Date of hire, YYYY-MM-DD."},
    {.name = "terminationDate",
     .type = SCIM_T_STRING,
     .date_only = true,
     .desc = "Last day of employment, YYYY-MM-DD."},
    {.name = "employmentStatus",
     .type = SCIM_T_STRING,
     .canonical = emp_status,
     .strict_canonical = true,
     .desc = "Employment status: active, leave, terminated or retired."},
    {.name = "eligibilityClass",
     .type = SCIM_T_STRING,
     .desc = "Benefit eligibility class (e.g. FT, PT, EXEC)."},
    {.name = "workLocation",
     .type = SCIM_T_STRING,
     .desc = "Work location code or name."},
    {.name = "workState",
     .type = SCIM_T_STRING,
     .desc = "Work state or region (e.g. CA)."},
    {.name = "workCountry",
     .type = SCIM_T_STRING,
     .desc = "Work country, ISO 3166-1 alpha-2."},
    {.name = "benefitPlan",
     .type = SCIM_T_STRING,
     .desc = "Benefit plan or coverage code."},
    {.name = "gender",
     .type = SCIM_T_STRING,
     .canonical = gender_codes,
     .desc = "Administrative gender as eligibility files carry it "
             "(X12 DMG03): M, F or U."},
};

static const struct scim_attr sub_members[] = {
    {.name = "value",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_IMMUTABLE,
     .case_exact = true,
     .desc = "Identifier of the member of this Group."},
    {.name = "$ref",
     .type = SCIM_T_REFERENCE,
     .mut = SCIM_M_IMMUTABLE,
     .ref_types = ref_user_group,
     .desc = "The URI of the corresponding member resource."},
    {.name = "type",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_IMMUTABLE,
     .canonical = type_member,
     .desc = "User or Group."},
    {.name = "display",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .desc = "The member's userName or displayName."},
};

static const struct scim_attr group_attrs[] = {
    {.name = "displayName",
     .type = SCIM_T_STRING,
     .required = true,
     .uniq = SCIM_U_SERVER,
     .desc = "A human-readable name for the Group. Unique per tenant, "
             "case-insensitive (Microsoft Entra ID matches on it)."},
    {.name = "members",
     .type = SCIM_T_COMPLEX,
     .multi = true,
     SUB(sub_members),
     .desc = "A list of members of the Group."},
};

static const struct scim_attr sub_meta[] = {
    {.name = "resourceType",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .case_exact = true,
     .desc = "The name of the resource type."},
    {.name = "created",
     .type = SCIM_T_DATETIME,
     .mut = SCIM_M_RO,
     .desc = "When the resource was added."},
    {.name = "lastModified",
     .type = SCIM_T_DATETIME,
     .mut = SCIM_M_RO,
     .desc = "When the resource was last modified."},
    {.name = "location",
     .type = SCIM_T_REFERENCE,
     .mut = SCIM_M_RO,
     .case_exact = true,
     .ref_types = ref_uri,
     .desc = "The URI of the resource."},
    {.name = "version",
     .type = SCIM_T_STRING,
     .mut = SCIM_M_RO,
     .case_exact = true,
     .desc = "The version (weak ETag) of the resource."},
};

static const struct scim_attr common_attrs[] = {
    {.name = "id",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mut = SCIM_M_RO,
     .ret = SCIM_R_ALWAYS,
     .uniq = SCIM_U_SERVER,
     .desc = "Unique identifier assigned by rosterd."},
    {.name = "externalId",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .desc = "Identifier assigned by the provisioning client."},
    {.name = "meta",
     .type = SCIM_T_COMPLEX,
     .mut = SCIM_M_RO,
     SUB(sub_meta),
     .desc = "Resource metadata."},
};

static const struct scim_schema schema_user = {
    SCIM_URN_USER, "User", "User Account", user_attrs, NELEM(user_attrs)};
static const struct scim_schema schema_enterprise = {
    SCIM_URN_ENTERPRISE, "EnterpriseUser", "Enterprise User", enterprise_attrs,
    NELEM(enterprise_attrs)};
static const struct scim_schema schema_eligibility = {
    SCIM_URN_ELIGIBILITY, "EligibilityUser",
    "rosterd employment and benefit eligibility attributes", eligibility_attrs,
    NELEM(eligibility_attrs)};
static const struct scim_schema schema_group = {
    SCIM_URN_GROUP, "Group", "Group", group_attrs, NELEM(group_attrs)};

static const struct scim_schema *const user_exts[] = {
    &schema_enterprise, &schema_eligibility, NULL};
static const struct scim_schema *const no_exts[] = {NULL};
static const struct scim_schema *const all_schemas[] = {
    &schema_user, &schema_enterprise, &schema_eligibility, &schema_group, NULL};

static const struct scim_rtype rtype_user = {
    "User", "/Users", "User Account", &schema_user, user_exts, NULL};
static const struct scim_rtype rtype_group = {
    "Group", "/Groups", "Group", &schema_group, no_exts, "members"};

const struct scim_rtype *
scim_rtype_user(void)
{
	return &rtype_user;
}

const struct scim_rtype *
scim_rtype_group(void)
{
	return &rtype_group;
}

const struct scim_rtype *
scim_rtype_find(const char *s)
{
	if (strcasecmp(s, "Users") == 0 || strcasecmp(s, "User") == 0)
		return &rtype_user;
	if (strcasecmp(s, "Groups") == 0 || strcasecmp(s, "Group") == 0)
		return &rtype_group;
	return NULL;
}

const struct scim_schema *const *
scim_schemas(void)
{
	return all_schemas;
}

const struct scim_schema *
scim_schema_find(const char *urn)
{
	size_t i;

	for (i = 0; all_schemas[i] != NULL; i++)
		if (strcasecmp(all_schemas[i]->id, urn) == 0)
			return all_schemas[i];
	return NULL;
}

const struct scim_attr *
scim_common_attrs(size_t *n)
{
	*n = NELEM(common_attrs);
	return common_attrs;
}

const struct scim_attr *
scim_attr_find(const struct scim_attr *attrs, size_t n, const char *name,
               size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strncasecmp(attrs[i].name, name, len) == 0 &&
		    attrs[i].name[len] == '\0')
			return &attrs[i];
	return NULL;
}

const struct scim_attr *
scim_attrpath_leaf(const struct scim_attrpath *p)
{
	return p->sub != NULL ? p->sub : p->attr;
}

/* The schema of rt whose URN prefixes path (followed by ':' or the end). */
static const struct scim_schema *
schema_prefix(const struct scim_rtype *rt, const char *path, size_t len,
              bool *ext)
{
	const struct scim_schema *s;
	size_t i, n;

	for (i = 0; i == 0 || rt->ext[i - 1] != NULL; i++) {
		s = i == 0 ? rt->core : rt->ext[i - 1];
		n = strlen(s->id);
		if (len >= n && strncasecmp(path, s->id, n) == 0 &&
		    (len == n || path[n] == ':')) {
			*ext = i != 0;
			return s;
		}
	}
	return NULL;
}

int
scim_attrpath_resolve(const struct scim_rtype *rt, const char *path, size_t len,
                      struct scim_attrpath *out)
{
	const struct scim_schema *s;
	const struct scim_attr *a, *common;
	const char *dot;
	size_t ncommon, alen;
	bool ext = false;

	memset(out, 0, sizeof(*out));
	common = scim_common_attrs(&ncommon);
	s = schema_prefix(rt, path, len, &ext);
	if (s != NULL) {
		size_t n = strlen(s->id);

		if (len == n) {
			if (!ext)
				return -1;
			out->schema = s;
			out->ext = true;
			return 0;
		}
		path += n + 1;
		len -= n + 1;
	}
	dot = memchr(path, '.', len);
	alen = dot != NULL ? (size_t)(dot - path) : len;
	if (alen == 0)
		return -1;
	if (s == NULL)
		s = rt->core;
	a = scim_attr_find(s->attrs, s->nattrs, path, alen);
	if (a == NULL && !ext) {
		a = scim_attr_find(common, ncommon, path, alen);
		s = NULL;
	}
	if (a == NULL)
		return -1;
	out->schema = s;
	out->attr = a;
	out->ext = ext;
	if (dot == NULL)
		return 0;
	if (a->type != SCIM_T_COMPLEX)
		return -1;
	out->sub = scim_attr_find(a->sub, a->nsub, dot + 1, len - alen - 1);
	return out->sub != NULL ? 0 : -1;
}

int
scim_schemas_check(const json_t *body, const char *urn, const char *what,
                   struct scim_err *e)
{
	const json_t *sc = NULL, *x;
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)body, k, v)
	{
		if (strcasecmp(k, "schemas") == 0)
			sc = v;
	}
	if (sc == NULL) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "%s needs \"schemas\": [\"%s\"]", what, urn);
		return -1;
	}
	json_array_foreach(sc, i, x)
	{
		if (json_is_string(x) &&
		    strcasecmp(json_string_value(x), urn) == 0)
			return 0;
	}
	scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
	             "%s: \"schemas\" must be an array that includes \"%s\"",
	             what, urn);
	return -1;
}

bool
scim_datetime_valid(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
	           &n) != 6 ||
	    n != 19)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return false;
	s += n;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return true;
	if ((*s == '+' || *s == '-') && isdigit((unsigned char)s[1]) &&
	    isdigit((unsigned char)s[2]) && s[3] == ':' &&
	    isdigit((unsigned char)s[4]) && isdigit((unsigned char)s[5]) &&
	    s[6] == '\0')
		return true;
	return false;
}

static bool
date_only_valid(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	int y, m, d, n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    s[10] != '\0')
		return false;
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	return true;
}

/* Normalisation context: the path being checked, for messages. */
struct norm {
	struct scim_err *e;
	char path[256];
};

static json_t *norm_value(struct norm *, const struct scim_attr *, json_t *v);

static int
norm_fail(struct norm *n, const char *fmt, const char *what)
{
	scim_err_set(n->e, 400, SCIM_ET_INVALID_VALUE, fmt, n->path, what);
	return -1;
}

static json_t *
norm_string(struct norm *n, const struct scim_attr *a, json_t *v)
{
	const char *s, *const *c;

	if (!json_is_string(v)) {
		norm_fail(n, "attribute \"%s\" must be %s", "a string");
		return NULL;
	}
	s = json_string_value(v);
	if (a->type == SCIM_T_DATETIME && !scim_datetime_valid(s)) {
		norm_fail(n, "attribute \"%s\" must be %s",
		          "an xsd:dateTime such as 2026-12-04T19:54:50Z");
		return NULL;
	}
	if (a->date_only && !date_only_valid(s)) {
		norm_fail(n, "attribute \"%s\" must be %s",
		          "a date of the form YYYY-MM-DD");
		return NULL;
	}
	if (a->strict_canonical) {
		for (c = a->canonical; *c != NULL; c++)
			if (strcasecmp(*c, s) == 0)
				return json_string(*c);
		norm_fail(n, "attribute \"%s\": %s",
		          "value is not one of "
		          "the canonical values");
		return NULL;
	}
	return json_incref(v);
}

static json_t *
norm_boolean(struct norm *n, json_t *v)
{
	const char *s;

	if (json_is_boolean(v))
		return json_incref(v);
	/* Entra ID sends booleans as the strings "True" and "False". */
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strcasecmp(s, "true") == 0)
			return json_true();
		if (strcasecmp(s, "false") == 0)
			return json_false();
	}
	norm_fail(n, "attribute \"%s\" must be %s", "a boolean");
	return NULL;
}

static json_t *
norm_complex(struct norm *n, const struct scim_attr *a, json_t *v)
{
	const struct scim_attr *sa;
	const char *k;
	json_t *o, *x, *nv;
	size_t plen = strlen(n->path);

	if (!json_is_object(v)) {
		norm_fail(n, "attribute \"%s\" must be %s", "an object");
		return NULL;
	}
	o = json_object();
	json_object_foreach(v, k, x)
	{
		sa = scim_attr_find(a->sub, a->nsub, k, strlen(k));
		if (sa == NULL || sa->mut == SCIM_M_RO || json_is_null(x))
			continue;
		snprintf(n->path + plen, sizeof(n->path) - plen, ".%s",
		         sa->name);
		nv = norm_value(n, sa, x);
		n->path[plen] = '\0';
		if (scim_err_isset(n->e)) {
			json_decref(o);
			return NULL;
		}
		if (nv != NULL)
			json_object_set_new(o, sa->name, nv);
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
norm_single(struct norm *n, const struct scim_attr *a, json_t *v)
{
	switch (a->type) {
	case SCIM_T_STRING:
	case SCIM_T_DATETIME:
	case SCIM_T_BINARY:
	case SCIM_T_REFERENCE:
		return norm_string(n, a, v);
	case SCIM_T_BOOLEAN:
		return norm_boolean(n, v);
	case SCIM_T_INTEGER:
		if (json_is_integer(v))
			return json_incref(v);
		norm_fail(n, "attribute \"%s\" must be %s", "an integer");
		return NULL;
	case SCIM_T_DECIMAL:
		if (json_is_number(v))
			return json_incref(v);
		norm_fail(n, "attribute \"%s\" must be %s", "a number");
		return NULL;
	case SCIM_T_COMPLEX:
		return norm_complex(n, a, v);
	}
	return NULL;
}

/* Above this many values, repeats are found through a set, not pairwise. */
#define NORM_DEDUP_PAIRWISE 16

/*
 * RFC 7643 §2.4: a service provider SHOULD NOT return the same value
 * twice in a multi-valued attribute. An exact repeat of an earlier value
 * is dropped (as a PATCH "add" of a value already there is no change).
 * A short list (an email or two) is compared pairwise; a long one (a
 * group's members) through *seen, a set keyed by each value's canonical
 * JSON text, made on first use.
 */
static bool
norm_repeat(json_t *arr, size_t total, json_t **seen, json_t *nv)
{
	char *key;
	bool dup;
	size_t i;

	if (total <= NORM_DEDUP_PAIRWISE) {
		for (i = 0; i < json_array_size(arr); i++)
			if (json_equal(json_array_get(arr, i), nv))
				return true;
		return false;
	}
	if (*seen == NULL)
		*seen = json_object();
	key = json_dumps(nv, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (key == NULL)
		return false;
	dup = json_object_get(*seen, key) != NULL;
	if (!dup)
		json_object_set_new(*seen, key, json_true());
	free(key);
	return dup;
}

static json_t *
norm_multi(struct norm *n, const struct scim_attr *a, json_t *v)
{
	json_t *arr, *x, *nv, *p, *seen = NULL;
	size_t i, primaries = 0;

	arr = json_array();
	if (!json_is_array(v)) {
		/* A lone value where an array belongs: take it as one. */
		nv = norm_single(n, a, v);
		if (nv != NULL)
			json_array_append_new(arr, nv);
	} else {
		json_array_foreach(v, i, x)
		{
			if (json_is_null(x))
				continue;
			nv = norm_single(n, a, x);
			if (nv == NULL)
				continue;
			if (norm_repeat(arr, json_array_size(v), &seen, nv)) {
				json_decref(nv);
				continue;
			}
			p = json_object_get(nv, "primary");
			if (json_is_true(p))
				primaries++;
			json_array_append_new(arr, nv);
		}
		json_decref(seen);
	}
	if (scim_err_isset(n->e) || primaries > 1) {
		if (primaries > 1)
			norm_fail(n, "attribute \"%s\": %s",
			          "at most one value may be primary");
		json_decref(arr);
		return NULL;
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
norm_value(struct norm *n, const struct scim_attr *a, json_t *v)
{
	if (json_is_null(v) || a->mut == SCIM_M_RO || a->mut == SCIM_M_WO)
		return NULL;
	return a->multi ? norm_multi(n, a, v) : norm_single(n, a, v);
}

/* Normalise the attributes of one schema from src into dst. */
static int
norm_attrs(struct norm *n, const struct scim_schema *s, bool common,
           json_t *src, json_t *dst)
{
	const struct scim_attr *a, *ca;
	const char *k;
	json_t *v, *nv;
	size_t ncommon;

	ca = scim_common_attrs(&ncommon);
	json_object_foreach(src, k, v)
	{
		a = scim_attr_find(s->attrs, s->nattrs, k, strlen(k));
		if (a == NULL && common)
			a = scim_attr_find(ca, ncommon, k, strlen(k));
		if (a == NULL)
			continue;
		snprintf(n->path, sizeof(n->path), "%s", a->name);
		nv = norm_value(n, a, v);
		if (scim_err_isset(n->e))
			return -1;
		if (nv != NULL)
			json_object_set_new(dst, a->name, nv);
	}
	return 0;
}

static int
norm_required(struct norm *n, const struct scim_schema *s, json_t *doc)
{
	size_t i;

	json_t *v;

	for (i = 0; i < s->nattrs; i++) {
		v = json_object_get(doc, s->attrs[i].name);
		if (!s->attrs[i].required ||
		    (v != NULL &&
		     !(json_is_string(v) && json_string_length(v) == 0)))
			continue;
		scim_err_set(n->e, 400, SCIM_ET_INVALID_VALUE,
		             "required attribute \"%s\" is missing",
		             s->attrs[i].name);
		return -1;
	}
	return 0;
}

static int
norm_schemas_field(struct norm *n, const struct scim_rtype *rt, json_t *in)
{
	json_t *sc, *x;
	size_t i;

	sc = json_object_get(in, "schemas");
	if (sc == NULL)
		return 0;
	if (!json_is_array(sc)) {
		scim_err_set(n->e, 400, SCIM_ET_INVALID_SYNTAX,
		             "\"schemas\" must be an array of schema URNs");
		return -1;
	}
	json_array_foreach(sc, i, x)
	{
		if (!json_is_string(x)) {
			scim_err_set(
			    n->e, 400, SCIM_ET_INVALID_SYNTAX,
			    "\"schemas\" must be an array of schema URNs");
			return -1;
		}
	}
	(void)rt;
	return 0;
}

static int
norm_extensions(struct norm *n, const struct scim_rtype *rt, json_t *in,
                json_t *out)
{
	const struct scim_schema *s;
	json_t *src, *dst;
	size_t i;

	for (i = 0; rt->ext[i] != NULL; i++) {
		s = rt->ext[i];
		src = NULL;
		{
			const char *k;
			json_t *v;

			json_object_foreach(in, k, v)
			{
				if (strcasecmp(k, s->id) == 0)
					src = v;
			}
		}
		if (src == NULL || json_is_null(src))
			continue;
		if (!json_is_object(src)) {
			scim_err_set(n->e, 400, SCIM_ET_INVALID_VALUE,
			             "extension \"%s\" must be an object",
			             s->id);
			return -1;
		}
		dst = json_object();
		if (norm_attrs(n, s, false, src, dst) == -1 ||
		    norm_required(n, s, dst) == -1) {
			json_decref(dst);
			return -1;
		}
		if (json_object_size(dst) > 0)
			json_object_set_new(out, s->id, dst);
		else
			json_decref(dst);
	}
	return 0;
}

static int
norm_immutable(struct norm *n, const struct scim_attr *attrs, size_t nattrs,
               const json_t *old, const json_t *doc)
{
	json_t *ov, *nv;
	size_t i;

	for (i = 0; i < nattrs; i++) {
		if (attrs[i].mut != SCIM_M_IMMUTABLE || attrs[i].multi)
			continue;
		ov = json_object_get(old, attrs[i].name);
		nv = json_object_get(doc, attrs[i].name);
		if (ov == NULL || (nv != NULL && json_equal(ov, nv)))
			continue;
		scim_err_set(n->e, 400, SCIM_ET_MUTABILITY,
		             "attribute \"%s\" is immutable", attrs[i].name);
		return -1;
	}
	return 0;
}

static void
norm_set_schemas(const struct scim_rtype *rt, json_t *doc)
{
	json_t *sc = json_array();
	size_t i;

	json_array_append_new(sc, json_string(rt->core->id));
	for (i = 0; rt->ext[i] != NULL; i++)
		if (json_object_get(doc, rt->ext[i]->id) != NULL)
			json_array_append_new(sc, json_string(rt->ext[i]->id));
	json_object_set_new(doc, "schemas", sc);
}

json_t *
scim_schema_normalize(const struct scim_rtype *rt, const json_t *in,
                      const json_t *old, enum scim_norm_mode mode,
                      struct scim_err *e)
{
	struct norm n;
	json_t *doc, *src = (json_t *)in;

	memset(&n, 0, sizeof(n));
	n.e = e;
	if (!json_is_object(in)) {
		scim_err_set(e, 400, SCIM_ET_INVALID_SYNTAX,
		             "the request body must be a JSON object");
		return NULL;
	}
	doc = json_object();
	if (norm_schemas_field(&n, rt, src) == -1 ||
	    norm_attrs(&n, rt->core, true, src, doc) == -1 ||
	    norm_extensions(&n, rt, src, doc) == -1 ||
	    norm_required(&n, rt->core, doc) == -1)
		goto fail;
	if (old != NULL && norm_immutable(&n, rt->core->attrs, rt->core->nattrs,
	                                  old, doc) == -1)
		goto fail;
	(void)mode;
	norm_set_schemas(rt, doc);
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/* Attribute paths named in an attributes/excludedAttributes parameter. */
struct proj {
	struct scim_attrpath p[64];
	size_t n;
};

static void
proj_parse(const struct scim_rtype *rt, const char *list, struct proj *pj)
{
	const char *s = list, *end;
	size_t len;

	pj->n = 0;
	while (s != NULL && *s != '\0' && pj->n < NELEM(pj->p)) {
		while (*s == ' ' || *s == ',')
			s++;
		end = strchr(s, ',');
		len = end != NULL ? (size_t)(end - s) : strlen(s);
		while (len > 0 && s[len - 1] == ' ')
			len--;
		if (len > 0 &&
		    scim_attrpath_resolve(rt, s, len, &pj->p[pj->n]) == 0)
			pj->n++;
		s = end != NULL ? end + 1 : NULL;
	}
}

/* 2: the whole attribute is named, 1: some sub-attributes, 0: not at all */
static int
proj_match(const struct proj *pj, const struct scim_schema *s,
           const struct scim_attr *a)
{
	int r = 0;
	size_t i;

	for (i = 0; i < pj->n; i++) {
		if (pj->p[i].attr == NULL && pj->p[i].schema == s && s != NULL)
			return 2;
		if (pj->p[i].attr == NULL || pj->p[i].attr != a)
			continue;
		if (pj->p[i].sub == NULL)
			return 2;
		r = 1;
	}
	return r;
}

static bool
proj_sub_named(const struct proj *pj, const struct scim_attr *a,
               const char *sub)
{
	size_t i;

	for (i = 0; i < pj->n; i++)
		if (pj->p[i].attr == a && pj->p[i].sub != NULL &&
		    strcmp(pj->p[i].sub->name, sub) == 0)
			return true;
	return false;
}

/* Keep (include) or drop (exclude) the named sub-attributes of v. */
static void
proj_subs(const struct proj *pj, const struct scim_attr *a, json_t *v,
          bool include)
{
	const char *k;
	json_t *o, *x;
	void *tmp;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, o) proj_subs(pj, a, o, include);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach_safe(v, tmp, k, x)
	{
		if (proj_sub_named(pj, a, k) != include)
			json_object_del(v, k);
	}
}

/*
 * What projecting sub-attributes left of v: an element or a complex value
 * with none of them is not returned (RFC 7644 §3.9 returns attributes,
 * and "{}" is none), nor is the attribute when nothing of it is left.
 */
static bool
proj_empty(json_t *v)
{
	json_t *o;
	size_t i;

	if (json_is_object(v))
		return json_object_size(v) == 0;
	if (!json_is_array(v))
		return false;
	for (i = json_array_size(v); i-- > 0;) {
		o = json_array_get(v, i);
		if (json_is_object(o) && json_object_size(o) == 0)
			json_array_remove(v, i);
	}
	return json_array_size(v) == 0;
}

static void
proj_object(const struct scim_schema *s, const struct scim_attr *attrs,
            size_t nattrs, const struct proj *pj, json_t *obj, bool include)
{
	const struct scim_attr *a, *ca;
	const char *k;
	json_t *v;
	void *tmp;
	size_t ncommon;
	int m;

	ca = scim_common_attrs(&ncommon);
	json_object_foreach_safe(obj, tmp, k, v)
	{
		a = scim_attr_find(attrs, nattrs, k, strlen(k));
		if (a == NULL)
			a = scim_attr_find(ca, ncommon, k, strlen(k));
		if (a == NULL)
			continue; /* schemas, extension objects */
		if (a->ret == SCIM_R_NEVER) {
			json_object_del(obj, k);
			continue;
		}
		if (a->ret == SCIM_R_ALWAYS)
			continue;
		m = proj_match(
		    pj,
		    a == scim_attr_find(ca, ncommon, k, strlen(k)) ? NULL : s,
		    a);
		if (include && m == 0)
			json_object_del(obj, k);
		else if (!include && m == 2)
			json_object_del(obj, k);
		else if (m == 1) {
			proj_subs(pj, a, v, include);
			if (proj_empty(v))
				json_object_del(obj, k);
		}
	}
}

void
scim_schema_project(const struct scim_rtype *rt, json_t *res,
                    const char *attributes, const char *excluded)
{
	const struct scim_schema *s;
	struct proj pj;
	bool include;
	json_t *ext;
	size_t i;

	include = attributes != NULL && *attributes != '\0';
	proj_parse(rt, include ? attributes : excluded, &pj);
	proj_object(rt->core, rt->core->attrs, rt->core->nattrs, &pj, res,
	            include);
	for (i = 0; rt->ext[i] != NULL; i++) {
		s = rt->ext[i];
		ext = json_object_get(res, s->id);
		if (ext == NULL)
			continue;
		if (proj_match(&pj, s, NULL) == 2) {
			if (!include)
				json_object_del(res, s->id);
			continue;
		}
		proj_object(s, s->attrs, s->nattrs, &pj, ext, include);
		if (json_object_size(ext) == 0)
			json_object_del(res, s->id);
	}
}
