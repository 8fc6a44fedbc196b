/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gamevm check CONF: what the VM wants from the kernel command line, which
 * gamevm cannot change at runtime, compared with proc/cmdline, and the
 * exact words to add. Changes nothing.
 *
 *   iommu=pt                 passthrough: the host's own devices skip DMA
 *                            translation (with [pci] devices)
 *   intel_iommu=on           Intel: the IOMMU is not on by default on every
 *                            kernel (AMD's is: nothing to add)
 *   nohz_full=, rcu_nocbs=,  the vCPUs' host CPUs without the housekeeping
 *   isolcpus=managed_irq,    ones: no scheduler tick, no RCU callbacks, no
 *     domain,                managed IRQs and no load balancing there
 *   hugepagesz=1G hugepages=N  [memory] hugepages = 1G: 1G pages are
 *                            rarely free after boot
 * vfio-pci.ids= is reported as not needed (gamevm binds the devices
 * itself), mitigations=off only as an option, with its cost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "fileio.h"
#include "host.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "plan.h"
#include "planner.h"
#include "vm-load.h"

#define MAX_CPU 8192u

enum check_status {
	CHECK_OK,
	CHECK_ADD,
	CHECK_CHANGE,
};

static const char *const status_names[] = {
	[CHECK_OK] = "ok",
	[CHECK_ADD] = "add",
	[CHECK_CHANGE] = "change",
};

struct check_item {
	char *want; /* "nohz_full=1-15,17-31" */
	char *have; /* the word on the line now, NULL: none */
	enum check_status status;
	const char *why;
};

struct check {
	char **words; /* proc/cmdline split */
	size_t n_words;
	struct check_item items[8];
	size_t n_items;
};

/* What gamevm makes of this host's KVM, and which accelerator the plan takes for the VM. */
struct check_accel {
	const struct host_kvm *kvm;
	enum kvm_verdict verdict;
	char *probe;		/* host_kvm_describe() */
	enum accel_mode config; /* [vm] accel */
	int chosen;		/* ACCEL_KVM, ACCEL_TCG, or -1: the plan has errors */
	const char *why;	/* the plan's [vm] accel line, NULL if none */
	int why_level;
};

static void check_done(struct check *c)
{
	for (size_t i = 0; i < c->n_words; i++)
		free(c->words[i]);
	free(c->words);
	for (size_t i = 0; i < c->n_items; i++) {
		free(c->items[i].want);
		free(c->items[i].have);
	}
	*c = (struct check){};
}

static int split_cmdline(const char *line, struct check *c)
{
	_cleanup_free_ char *copy = strdup(line);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		char **v = reallocarray(c->words, c->n_words + 1, sizeof(char *));

		if (!v)
			return -ENOMEM;
		c->words = v;
		v[c->n_words] = strdup(t);
		if (!v[c->n_words])
			return -ENOMEM;
		c->n_words++;
	}
	return 0;
}

/* The last "key=..." word (the kernel lets a later one win), NULL: none. */
static const char *word_find(const struct check *c, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = c->n_words; i > 0; i--)
		if (strncmp(c->words[i - 1], key, n) == 0 && c->words[i - 1][n] == '=')
			return c->words[i - 1];
	return NULL;
}

static int item_add(struct check *c, const char *want, const char *have, bool ok, const char *why)
{
	struct check_item *it;

	if (c->n_items >= ELEMENTSOF(c->items))
		return -E2BIG;
	it = &c->items[c->n_items];
	*it = (struct check_item){ .why = why };
	it->want = strdup(want);
	it->have = have ? strdup(have) : NULL;
	if (!it->want || (have && !it->have)) {
		free(it->want);
		free(it->have);
		return -ENOMEM;
	}
	it->status = ok ? CHECK_OK : have ? CHECK_CHANGE : CHECK_ADD;
	c->n_items++;
	return 0;
}

/* Whether the CPU list s names every CPU of want. */
static bool list_covers(const char *s, const unsigned *want, size_t n)
{
	_cleanup_free_ unsigned *v = NULL;
	size_t nv = 0;

	if (parse_cpu_list(s, MAX_CPU, CPU_LIST_ALLOW_DUPLICATES, &v, &nv) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; k < nv && !found; k++)
			found = v[k] == want[i];
		if (!found)
			return false;
	}
	return true;
}

/* isolcpus=[flags,]LIST: the flags come first; none means "domain". */
static bool isolcpus_covers(const char *value, const unsigned *want, size_t n)
{
	bool managed_irq = false, domain = false, flags = false;
	const char *p = value;

	while (*p && !(*p >= '0' && *p <= '9')) {
		size_t len = strcspn(p, ",");

		flags = true;
		if (len == 11 && strncmp(p, "managed_irq", len) == 0)
			managed_irq = true;
		else if (len == 6 && strncmp(p, "domain", len) == 0)
			domain = true;
		p += len + (p[len] == ',');
	}
	if (!flags)
		domain = true;
	return managed_irq && domain && list_covers(p, want, n);
}

/* The page count the line reserves for size bytes (hugepagesz= then hugepages=). */
static uint64_t boot_pages(const struct check *c, uint64_t size)
{
	uint64_t cur = UINT64_C(2) << 20, pages = 0;
	const char *def = word_find(c, "default_hugepagesz");

	if (def)
		(void)parse_size(def + strlen("default_hugepagesz="), &cur);
	for (size_t i = 0; i < c->n_words; i++) {
		const char *w = c->words[i];
		uint64_t v;

		if (strncmp(w, "hugepagesz=", 11) == 0 && parse_size(w + 11, &v) >= 0)
			cur = v;
		else if (strncmp(w, "hugepages=", 10) == 0 && safe_atou64(w + 10, &v) >= 0 &&
			 cur == size)
			pages = v;
	}
	return pages;
}

static int check_cpus(struct check *c, const struct cpu_plan *cp, unsigned vcpus)
{
	_cleanup_free_ unsigned *iso = NULL;
	_cleanup_free_ char *list = NULL, *want = NULL;
	const char *have;
	size_t n = 0;
	int r;

	if (!cp->vcpu_pin)
		return 0;
	iso = calloc(MAX_CPU, sizeof(*iso));
	if (!iso)
		return -ENOMEM;
	/* The vCPUs' CPUs, sorted and once each, without the housekeeping ones. */
	for (unsigned cpu = 0; cpu < MAX_CPU; cpu++) {
		bool vm = false, hk = false;

		for (size_t i = 0; i < vcpus && !vm; i++)
			vm = cp->vcpu_pin[i] == cpu;
		for (size_t i = 0; i < cp->n_housekeeping && !hk; i++)
			hk = cp->housekeeping[i] == cpu;
		if (vm && !hk)
			iso[n++] = cpu;
	}
	if (n == 0)
		return 0;
	r = format_cpu_list(iso, n, &list);
	if (r < 0)
		return r;

	have = word_find(c, "nohz_full");
	if (asprintf(&want, "nohz_full=%s", list) < 0)
		return -ENOMEM;
	r = item_add(
		c, want, have, have && list_covers(have + 10, iso, n),
		"no scheduler tick on the vCPUs' CPUs while one task runs there (needs a kernel with CONFIG_NO_HZ_FULL)");
	if (r < 0)
		return r;
	free(want);
	want = NULL;

	have = word_find(c, "rcu_nocbs");
	if (asprintf(&want, "rcu_nocbs=%s", list) < 0)
		return -ENOMEM;
	r = item_add(c, want, have, have && list_covers(have + 10, iso, n),
		     "RCU callbacks run on the housekeeping CPUs, not the vCPUs'");
	if (r < 0)
		return r;
	free(want);
	want = NULL;

	have = word_find(c, "isolcpus");
	if (asprintf(&want, "isolcpus=managed_irq,domain,%s", list) < 0)
		return -ENOMEM;
	return item_add(
		c, want, have, have && isolcpus_covers(have + 9, iso, n),
		"no managed IRQs and no load balancing there: the host never puts its own work on those CPUs, also while the VM is off (gamevm's cpusets do this at runtime only)");
}

static int check_build(struct check *c, const struct vm_config *conf, const struct host_cpus *cpus,
		       const struct cpu_plan *cp)
{
	const char *have;
	int r;

	if (conf->n_pci > 0) {
		have = word_find(c, "iommu");
		r = item_add(
			c, "iommu=pt", have, have && streq(have, "iommu=pt"),
			"the host's own devices skip IOMMU translation; the passed-through ones keep it");
		if (r < 0)
			return r;
		if (cpus->vendor && streq(cpus->vendor, "GenuineIntel")) {
			have = word_find(c, "intel_iommu");
			r = item_add(c, "intel_iommu=on", have,
				     have && strncmp(have, "intel_iommu=on", 14) == 0,
				     "the Intel IOMMU is not on by default on every kernel");
			if (r < 0)
				return r;
		}
	}
	r = check_cpus(c, cp, conf->vcpus);
	if (r < 0)
		return r;
	if (conf->hugepages == HUGEPAGES_1G) {
		uint64_t need = conf->memory_bytes >> 30, got = boot_pages(c, UINT64_C(1) << 30);
		char want[64];

		snprintf(want, sizeof(want), "hugepagesz=1G hugepages=%" PRIu64, need);
		r = item_add(
			c, want, got > 0 ? "hugepagesz=1G hugepages=..." : NULL, got >= need,
			"1G pages are rarely free once memory is fragmented: reserve them at boot");
		if (r < 0)
			return r;
		if (got > 0 && got < need) {
			struct check_item *it = &c->items[c->n_items - 1];

			free(it->have);
			if (asprintf(&it->have, "hugepagesz=1G hugepages=%" PRIu64, got) < 0) {
				it->have = NULL;
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/* The words to add, space-separated ("" when nothing). */
static int check_line(const struct check *c, char **ret)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	bool first = true;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_items; i++)
		if (c->items[i].status != CHECK_OK) {
			fprintf(f, "%s%s", first ? "" : " ", c->items[i].want);
			first = false;
		}
	if (fclose(f) != 0) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

#define MITIGATIONS_COST                                                                           \
	"mitigations=off turns off the kernel's protections against CPU side channels (Spectre, Meltdown, Retbleed, ...): a few percent faster in syscall- and VM-exit-heavy work, at the cost of letting a local program or a guest read memory it should not. Only on a machine that runs nothing untrusted"

static int print_text(const struct check *c, const struct vm_config *conf, const char *where,
		      const char *line)
{
	const char *vfio = word_find(c, "vfio-pci.ids"), *mit = word_find(c, "mitigations");

	printf("Kernel command line (%s) against what VM '%s' wants:\n", where, conf->name);
	if (c->n_items == 0)
		printf("  nothing: this VM needs no boot parameters\n");
	for (size_t i = 0; i < c->n_items; i++) {
		const struct check_item *it = &c->items[i];

		printf("  %-7s %s", status_names[it->status], it->want);
		if (it->status == CHECK_CHANGE)
			printf(" (now %s)", it->have);
		printf("\n          %s\n", it->why);
	}
	if (vfio)
		printf("\nNot needed: %s (gamevm binds the passed-through devices to vfio-pci itself, and gives them back)\n",
		       vfio);
	if (isempty(line))
		printf("\nNothing to add.\n");
	else {
		printf("\nAdd to the kernel command line (boot loader config, then reboot):\n  %s\n",
		       line);
		for (size_t i = 0; i < c->n_items; i++)
			if (c->items[i].status == CHECK_CHANGE)
				printf("  and remove: %s\n", c->items[i].have);
	}
	printf("\nOptional: %s%s.\n", MITIGATIONS_COST,
	       mit && streq(mit, "mitigations=off") ? " (on this line already)" : "");
	return 0;
}

static struct json_object *accel_json(const struct check_accel *a);

static struct json_object *doctor_json(const struct doctor *d)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < d->n_results; i++) {
		const struct doctor_result *x = &d->results[i];
		struct json_object *o = json_object_new_object();

		if (!o || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
		json_object_object_add(o, "id", json_object_new_string(x->id));
		json_object_object_add(o, "status",
				       json_object_new_string(doctor_status_to_string(x->status)));
		json_object_object_add(o, "info", json_object_new_string(x->info));
		json_object_object_add(o, "source",
				       x->source ? json_object_new_string(x->source) : NULL);
		json_object_object_add(o, "fix", x->fix ? json_object_new_string(x->fix) : NULL);
	}
	return a;
}

/* The doctor's lines: status, what was found and read, and the fix under it. */
static void print_doctor(const struct doctor *d)
{
	static const char *const tags[] = {
		[DOCTOR_SKIP] = "skip",
		[DOCTOR_PASS] = "ok",
		[DOCTOR_WARN] = "WARN",
		[DOCTOR_FAIL] = "FAIL",
	};
	size_t n[4] = { 0 };

	printf("Checks:\n");
	for (size_t i = 0; i < d->n_results; i++) {
		const struct doctor_result *x = &d->results[i];

		n[x->status]++;
		printf("  %-4s  %-26s %s", tags[x->status], x->id, x->info);
		if (x->source)
			printf(" [%s]", x->source);
		printf("\n");
		if (x->fix && x->status >= DOCTOR_WARN)
			printf("        fix: %s\n", x->fix);
	}
	printf("\n%zu failed, %zu warnings, %zu passed, %zu skipped: %s\n", n[DOCTOR_FAIL],
	       n[DOCTOR_WARN], n[DOCTOR_PASS], n[DOCTOR_SKIP],
	       n[DOCTOR_FAIL] ? "the VM will not start (or not work) until the failures are fixed"
			      : "nothing stops the VM from starting");
}

static int print_json(const struct check *c, const struct vm_config *conf, const char *cmdline,
		      const char *line, const struct check_accel *acc, const struct doctor *doc)
{
	struct json_object *o = json_object_new_object(), *items = json_object_new_array();
	const char *vfio = word_find(c, "vfio-pci.ids"), *mit = word_find(c, "mitigations");
	struct json_object *opt = json_object_new_object();
	int r = 0;

	if (!o || !items || !opt) {
		json_object_put(o);
		json_object_put(items);
		json_object_put(opt);
		return log_error_errno(-ENOMEM, "Out of memory.");
	}
	json_object_object_add(o, "vm", json_object_new_string(conf->name));
	json_object_object_add(o, "cmdline", json_object_new_string(cmdline));
	for (size_t i = 0; i < c->n_items; i++) {
		struct json_object *e = json_object_new_object();

		if (!e) {
			r = -ENOMEM;
			break;
		}
		json_object_object_add(e, "want", json_object_new_string(c->items[i].want));
		json_object_object_add(e, "have",
				       c->items[i].have ? json_object_new_string(c->items[i].have)
							: NULL);
		json_object_object_add(e, "status",
				       json_object_new_string(status_names[c->items[i].status]));
		json_object_object_add(e, "why", json_object_new_string(c->items[i].why));
		json_object_array_add(items, e);
	}
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "add", json_object_new_string(line));
	json_object_object_add(o, "not_needed", vfio ? json_object_new_string(vfio) : NULL);
	json_object_object_add(opt, "param", json_object_new_string("mitigations=off"));
	json_object_object_add(opt, "present",
			       json_object_new_boolean(mit && streq(mit, "mitigations=off")));
	json_object_object_add(opt, "cost", json_object_new_string(MITIGATIONS_COST));
	json_object_object_add(o, "optional", opt);
	if (r >= 0) {
		struct json_object *a = accel_json(acc);

		if (!a)
			r = -ENOMEM;
		json_object_object_add(o, "kvm", json_object_get(json_object_object_get(a, "kvm")));
		json_object_object_add(o, "accel",
				       json_object_get(json_object_object_get(a, "accel")));
		json_object_put(a);
	}
	if (r >= 0) {
		struct json_object *checks = doctor_json(doc);

		if (!checks)
			r = -ENOMEM;
		json_object_object_add(o, "checks", checks);
		json_object_object_add(o, "can_start",
				       json_object_new_boolean(doctor_worst(doc) < DOCTOR_FAIL));
	}
	if (r >= 0)
		printf("%s\n", json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return r < 0 ? log_error_errno(-ENOMEM, "Out of memory.") : 0;
}

static void check_accel_done(struct check_accel *a)
{
	free(a->probe);
}

static const char *accel_name(int a)
{
	return a == ACCEL_KVM ? "KVM" : a == ACCEL_TCG ? "TCG" : "none (the plan has errors)";
}

static void print_accel(const struct check_accel *a, const char *name)
{
	printf("KVM on this host: %s\n  %s\n", kvm_verdict_to_string(a->verdict), a->probe);
	printf("Accelerator for VM '%s' (accel = %s): %s\n", name, accel_mode_to_string(a->config),
	       accel_name(a->chosen));
	if (a->why)
		printf("  %s\n", a->why);
	printf("\n");
}

static struct json_object *accel_json(const struct check_accel *a)
{
	struct json_object *o = json_object_new_object(), *k = json_object_new_object();
	struct json_object *acc = json_object_new_object();

	if (!o || !k || !acc) {
		json_object_put(o);
		json_object_put(k);
		json_object_put(acc);
		return NULL;
	}
	json_object_object_add(k, "verdict",
			       json_object_new_string(kvm_verdict_to_string(a->verdict)));
	json_object_object_add(k, "probe", json_object_new_string(a->probe));
	json_object_object_add(k, "present", json_object_new_boolean(a->kvm->present));
	json_object_object_add(k, "runs_guests", json_object_new_boolean(a->kvm->runs_guests));
	json_object_object_add(k, "runs_firmware", json_object_new_boolean(a->kvm->runs_firmware));
	json_object_object_add(k, "smm", json_object_new_boolean(a->kvm->smm));
	json_object_object_add(k, "probe_step", json_object_new_int((int)a->kvm->probe_step));
	json_object_object_add(k, "exit_reason", json_object_new_int(a->kvm->guest_exit_reason));
	json_object_object_add(k, "suberror", json_object_new_int(a->kvm->guest_suberror));
	json_object_object_add(o, "kvm", k);
	json_object_object_add(acc, "config",
			       json_object_new_string(accel_mode_to_string(a->config)));
	json_object_object_add(
		acc, "chosen",
		a->chosen < 0 ? NULL
			      : json_object_new_string(a->chosen == ACCEL_KVM ? "kvm" : "tcg"));
	json_object_object_add(acc, "why", a->why ? json_object_new_string(a->why) : NULL);
	json_object_object_add(o, "accel", acc);
	return o;
}

int verb_check(const struct cli *c)
{
	_cleanup_(vm_load_done) struct vm_load l = VM_LOAD_NULL;
	_cleanup_(cpu_plan_done) struct cpu_plan cp = { .node = -1 };
	_cleanup_(plan_diags_done) struct plan_diags diags = {};
	_cleanup_(plan_done) struct plan plan = { 0 };
	_cleanup_(check_accel_done) struct check_accel acc = {};
	_cleanup_free_ char *cmdline = NULL, *line = NULL;
	struct planner_input in = { .gpu_node = -1, .memory_node = -1 };
	_cleanup_(check_done) struct check chk = {};
	_cleanup_(doctor_done) struct doctor doc = {};
	bool plan_ok;
	struct vm_paths paths;
	const struct plan_diag *why;
	char where[4096];
	int r;

	r = vm_load(c, &l);
	if (r < 0)
		return r;
	host_root_path(&l.root, "proc", "cmdline", where, sizeof(where));
	r = l.root.proc_fd < 0 ? -ENOENT : read_one_line_at(l.root.proc_fd, "cmdline", &cmdline);
	if (r < 0)
		return log_error_errno(r, "Failed to read the kernel command line '%s': %m", where);

	/* The whole plan, for the accelerator it takes; its errors are cmdline's to list. */
	paths = (struct vm_paths){ .run_dir = l.run_dir, .state_dir = l.state_dir };
	r = plan_build(l.c, &l.facts, &l.qemu, &l.fw, &paths, &plan, &diags);
	if (r < 0 && r != -EINVAL)
		return log_error_errno(r, "Failed to plan the VM: %m");
	plan_ok = r >= 0;
	acc = (struct check_accel){ .kvm = &l.facts.kvm,
				    .verdict = host_kvm_verdict(&l.facts.kvm),
				    .config = l.c->accel,
				    .chosen = r < 0 ? -1 : (int)plan.accel };
	if (host_kvm_describe(&l.facts.kvm, &acc.probe) < 0)
		return log_error_errno(-ENOMEM, "Out of memory.");
	why = plan_diags_find(&diags, "vm", "accel");
	if (why)
		acc.why = why->msg + why->body;
	if (r < 0)
		log_error(
			"%s: the plan has errors on this host ('gamevm cmdline %s' lists them); the checks below still hold.",
			l.c->path, l.c->path);

	/* The GPU's NUMA node only moves vCPUs between nodes: not needed to name CPUs here. */
	planner_input_from_config(l.c, NULL, &in);
	r = planner_build(&l.facts.cpus, &in, &cp);
	if (r < 0)
		return log_error_errno(r, "Failed to plan the CPUs of '%s': %m", l.c->path);
	for (size_t i = 0; i < cp.n_diags; i++)
		if (cp.diags[i].level <= LOG_ERR)
			log_full_errno(cp.diags[i].level, 0, "%s", cp.diags[i].msg);

	r = split_cmdline(cmdline, &chk);
	if (r >= 0)
		r = check_build(&chk, l.c, &l.facts.cpus, &cp);
	if (r >= 0)
		r = check_line(&chk, &line);
	if (r < 0)
		return log_error_errno(-ENOMEM, "Out of memory.");

	doc = (struct doctor){
		.h = &l.root, .c = l.c, .f = &l.facts, .p = plan_ok ? &plan : NULL, .diags = &diags
	};
	r = doctor_run(&doc);
	if (r < 0)
		return log_error_errno(r, "Failed to run the checks: %m");
	if (c->json)
		r = print_json(&chk, l.c, cmdline, line, &acc, &doc);
	else {
		print_accel(&acc, l.c->name);
		r = print_text(&chk, l.c, where, line);
		if (r >= 0) {
			printf("\n");
			print_doctor(&doc);
		}
	}
	if (r < 0)
		return r;
	/* The exit status says whether the VM can start. */
	return doctor_worst(&doc) == DOCTOR_FAIL ? 1 : 0;
}
