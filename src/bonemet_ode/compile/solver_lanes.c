/*
 * bonemet_ode lane solver: BM_L members of a batch integrated in lock-step (lanes.py).
 *
 * Appended after solver_core.c when the generated code defines BM_L and the lane (_v) versions
 * of bm_rhs, bm_jac, bm_build_E, bm_lu_fast and the solve (bm_matvec or bm_solve_fast).
 *
 * Every lane runs its own member with its own step size, events and outputs: one loop iteration
 * is one attempted step in every lane.  The stage arithmetic (RHS, Jacobian, factorisation,
 * solves, linear combinations) runs over all lanes at once; the per-lane decisions (error norm,
 * accept/reject, dense output, events, the next member) reuse the scalar solver's functions.
 * The operations of each lane are those of the scalar solver in the same order, so a member's
 * results are bit-identical to solving it alone.  A member that needs anything beyond the common
 * path (a tiny pivot in the static order, a non-finite step, a failure) is solved again from the
 * start by the scalar solver, which reproduces its exact outcome.  A lane whose member finishes
 * takes the next member of the batch.  Arrays hold lane ln of component k at [k*BM_L + ln].
 */
#include <stdlib.h>

typedef struct {
    int k;        /* member index in the batch, -1 when idle */
    int in_seg;   /* inside a segment between events/stops */
    int reject, have_f0, last;
    int pending;  /* the first try after an event: its step size waits for this step's curvature */
    int iev, iout;
    long naccept;
    double t, tstop, tend, h, hh, h_try, hacc, erracc;
    double p[BM_NPX], u[BM_N];
    bm_ctx c;
    double *yout, *oout;
} bm_lane;

typedef struct {
    double y[BM_N * BM_L], pl[BM_NPX * BM_L], ul[BM_N * BM_L];
    double f0[BM_N * BM_L], ys[BM_N * BM_L], fs[BM_N * BM_L];
    double K[BM_S][BM_N * BM_L];
    double J[BM_NJ * BM_L], E[BM_NLU * BM_L], dinv[BM_N * BM_L];
#ifdef BM_HAVE_INV
    double X[BM_N * BM_NVP * BM_L];
#endif
    double fac[BM_L], tol[BM_L], ih[BM_L], rtol[BM_L], err2[BM_L], curv[BM_L];
    const double *atol;
    int bad[BM_L], finite[BM_L];
} bm_lane_work;

typedef struct {
    const double *tout, *ev_t, *ev_val;
    const int *ev_kind, *ev_idx;
    int nout, nev;
    double t0;
} bm_problem;

static void bm_lane_gather(const double *a, int ln, double *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = a[i * BM_L + ln];
}

static void bm_lane_scatter(double *a, int ln, const double *v, int n) {
    for (int i = 0; i < n; ++i) a[i * BM_L + ln] = v[i];
}

/* f(Y) for all lanes, with each lane's infusion rates (as bm_f does for one member). */
static void bm_f_lanes(const double *Y, bm_lane_work *w, const bm_lane *lanes, double *DY) {
    bm_rhs_v(Y, w->pl, DY);
    for (int ln = 0; ln < BM_L; ++ln)
        if (lanes[ln].k >= 0 && lanes[ln].c.infusing)
            for (int i = 0; i < BM_N; ++i) DY[i * BM_L + ln] += w->ul[i * BM_L + ln];
}

static void bm_lane_start(bm_lane *L, int ln, bm_lane_work *w, int k, const double *Y0, const double *P,
                          const bm_problem *pr, const double *opts, const double *atol, double *yout, double *oout,
                          long *stats) {
    L->k = k;
    L->c.rtol = opts[0]; L->c.hmax = opts[1]; L->c.h_init = opts[2]; L->c.max_steps = (long)opts[3];
    L->c.atol = atol;
    w->rtol[ln] = L->c.rtol;
    w->atol = atol;
    L->c.stats = stats + (long)k * BM_NSTATS;
    for (int s = 0; s < BM_NSTATS; ++s) L->c.stats[s] = 0;
    L->c.fail_t = pr->t0; L->c.fail_state = -1; L->c.infusing = 0; L->c.curv_pre = -1.0;
#if BM_NE > 0
    bm_ev_init(&L->c);
#endif
    L->yout = yout + (long)k * pr->nout * BM_N;
    L->oout = oout ? oout + (long)k * pr->nout * BM_NOTOT : 0;
    if (BM_NP > 0) memcpy(L->p, P + (long)k * BM_NPTOT, sizeof(double) * BM_NP);
    bm_derive(L->p);
    memset(L->u, 0, sizeof L->u);
    bm_lane_scatter(w->y, ln, Y0 + (long)k * BM_N, BM_N);
    bm_lane_scatter(w->pl, ln, L->p, BM_NPX);
    bm_lane_scatter(w->ul, ln, L->u, BM_N);
    L->t = pr->t0; L->h = L->c.h_init; L->hacc = 0.0; L->erracc = 1.0; L->naccept = 0;
    L->iev = 0; L->iout = 0; L->in_seg = 0; L->pending = 0; L->last = 0;
    L->tend = pr->nout > 0 ? pr->tout[pr->nout - 1] : pr->t0;
}

static void bm_lane_size(bm_lane *L, int ln, bm_lane_work *w, double hh);

/*
 * Bring a lane to its next step attempt (bm_solve_one's loop and the top of bm_segment's loop):
 * events and outputs at segment stops, the initial step, the step size of the attempt.
 * Returns 0 ready, 1 member finished, 2 member needs the scalar solver.
 */
static int bm_lane_begin(bm_lane *L, int ln, bm_lane_work *w, const bm_problem *pr) {
    double y[BM_N];
    for (;;) {
        if (L->in_seg && L->t < L->tstop) break;
        bm_lane_gather(w->y, ln, y, BM_N);
        int changed = 0;
#if BM_NE > 0
        if (L->iev == 0 && pr->nev > 0 && pr->ev_t[0] <= L->t) { /* state events before the timed ones of t0,
                                                                   as bm_solve_one */
            int nex0 = bm_ev_resolve(L->t, y, L->p, L->u, &L->c);
            if (nex0 < 0) return 2; /* the scalar solver reproduces the failure */
            if (nex0 > 0) changed = 1;
        }
#endif
        while (L->iev < pr->nev && pr->ev_t[L->iev] <= L->t) {
            bm_apply_event(pr->ev_kind[L->iev], pr->ev_idx[L->iev], pr->ev_val[L->iev], y, L->p, L->u, &L->c);
            L->iev++;
            L->hacc = 0.0;
            changed = 1;
        }
#if BM_NE > 0
        { /* state events at t, as bm_solve_one */
            int nex = bm_ev_resolve(L->t, y, L->p, L->u, &L->c);
            if (nex < 0) return 2; /* the scalar solver reproduces the failure */
            if (nex > 0) { L->hacc = 0.0; changed = 1; }
        }
#endif
        if (changed) {
            bm_lane_scatter(w->y, ln, y, BM_N);
            bm_lane_scatter(w->pl, ln, L->p, BM_NPX);
            bm_lane_scatter(w->ul, ln, L->u, BM_N);
        }
        while (L->iout < pr->nout && pr->tout[L->iout] <= L->t) {
            memcpy(L->yout + (long)L->iout * BM_N, y, sizeof y);
            if (L->oout) bm_obs(y, L->p, L->oout + (long)L->iout * BM_NOTOT);
            L->iout++;
        }
        if (L->iout >= pr->nout) return 1;
        L->tstop = (L->iev < pr->nev && pr->ev_t[L->iev] < L->tend) ? pr->ev_t[L->iev] : L->tend;
        if (L->h <= 0.0) {
            double f0[BM_N];
            bm_f(y, L->p, L->u, f0, &L->c);
            L->h = bm_initial_step(y, L->p, L->u, f0, L->tstop - L->t, &L->c);
        }
        L->in_seg = 1; L->reject = 0; L->have_f0 = 0;
    }
    if (L->c.stats[0] >= L->c.max_steps) return 2;
    L->last = 0;
    /* the scalar solver's first try after an event (bm_after_event_step) needs the curvature at this
     * step's start, from the f0 and J that bm_lane_fj computes for every lane: decided in bm_lane_decide */
    L->pending = L->c.curv_pre >= 0.0 && !L->reject && L->hacc == 0.0;
    if (!L->pending) bm_lane_size(L, ln, w, L->h);
    return 0;
}

/* The attempt's step size hh (bm_segment's): at most hmax, cut to land on tstop; the lane's factors. */
static void bm_lane_size(bm_lane *L, int ln, bm_lane_work *w, double hh) {
    if (hh > L->c.hmax) hh = L->c.hmax;
    L->h_try = hh;
    if (L->t + 1.0001 * hh >= L->tstop) { hh = L->tstop - L->t; L->last = 1; }
    L->hh = hh;
    if (!L->have_f0) { L->c.stats[3]++; L->have_f0 = 1; }
    L->c.stats[4]++;
    L->c.stats[5]++;
    w->fac[ln] = 1.0 / (hh * R_GAMMA);
    w->tol[ln] = 1e-10 * w->fac[ln];
    w->ih[ln] = 1.0 / hh;
}

/* bm_after_event_step on the lane's numbers: the curvature of this step's start (w->curv, from the
 * lanes' f0 and J, which are the scalar solver's numbers) against the one before the event. */
static void bm_lane_decide(bm_lane *L, int ln, bm_lane_work *w) {
    double hh = L->h, pre = L->c.curv_pre;
    L->c.curv_pre = -1.0;
    if (w->curv[ln] > (BM_CURV_JUMP * BM_CURV_JUMP) * pre) {
        double y[BM_N], f0[BM_N];
        bm_lane_gather(w->y, ln, y, BM_N);
        bm_lane_gather(w->f0, ln, f0, BM_N);
        double hi = bm_initial_step(y, L->p, L->u, f0, L->tstop - L->t, &L->c);
        if (hi < hh) hh = hi;
    }
    bm_lane_size(L, ln, w, hh);
}

/* f0 and the Jacobian at the step's start, every lane. */
static void bm_lane_fj(bm_lane_work *w, const bm_lane *lanes) {
    bm_f_lanes(w->y, w, lanes, w->f0);
    bm_jac_v(w->y, w->pl, w->J);
}

/* bm_curv2(J, f0, y) of every lane, in the scalar order: ||J f0||^2 scaled at the step's start. */
static void bm_lane_curv(bm_lane_work *w) {
    double jf[BM_N * BM_L], s[BM_L];
    for (int i = 0; i < BM_N * BM_L; ++i) jf[i] = 0.0;
    for (int k = 0; k < BM_NNZJ; ++k) {
        const int r = bm_jrow[k] * BM_L, q = bm_jcol[k] * BM_L;
        for (int ln = 0; ln < BM_L; ++ln) jf[r + ln] += w->J[k * BM_L + ln] * w->f0[q + ln];
    }
    for (int ln = 0; ln < BM_L; ++ln) s[ln] = 0.0;
    for (int i = 0; i < BM_N; ++i)
        for (int ln = 0; ln < BM_L; ++ln) {
            double a = fabs(w->y[i * BM_L + ln]), b = 0.0;
            double sk = w->atol[i] + w->rtol[ln] * (a > b ? a : b);
            double q = jf[i * BM_L + ln] / sk;
            s[ln] += q * q;
        }
    for (int ln = 0; ln < BM_L; ++ln) w->curv[ln] = s[ln] / BM_N;
}

/* The stages of one attempted step in every lane (the body of bm_segment's loop), after bm_lane_fj. */
static void bm_lane_stages(bm_lane_work *w, const bm_lane *lanes) {
    bm_build_E_v(w->J, w->fac, w->E);
    bm_lu_fast_v(w->E, w->dinv, w->tol, w->bad);
#ifdef BM_HAVE_INV
    bm_inv_fast_v(w->E, w->dinv, w->X);
#define BM_SOLVE_V(v) bm_matvec_v(w->X, (v))
#else
#define BM_SOLVE_V(v) bm_solve_fast_v(w->E, w->dinv, (v))
#endif
    memcpy(w->K[0], w->f0, sizeof w->K[0]);
    BM_SOLVE_V(w->K[0]);
    /* combinations: lanes innermost (SIMD), each lane summing in the scalar solver's order; the stage
     * loops unrolled, as in the scalar solver, so that every coefficient is a constant */
#pragma GCC unroll 8
    for (int st = 1; st < BM_S; ++st) {
        if (st > 1 && bm_ra_continues(st)) { /* ys holds Y_{st-1}: the same sum (solver_core.c) */
            for (int i = 0; i < BM_N * BM_L; ++i) w->ys[i] += w->K[st - 1][i];
        } else {
            for (int i = 0; i < BM_N; ++i) {
                double acc[BM_L];
                for (int ln = 0; ln < BM_L; ++ln) acc[ln] = w->y[i * BM_L + ln];
#pragma GCC unroll 8
                for (int j = 0; j < st; ++j)
                    for (int ln = 0; ln < BM_L; ++ln) acc[ln] += RA[st][j] * w->K[j][i * BM_L + ln];
                for (int ln = 0; ln < BM_L; ++ln) w->ys[i * BM_L + ln] = acc[ln];
            }
        }
        bm_f_lanes(w->ys, w, lanes, w->fs);
        for (int i = 0; i < BM_N; ++i) {
            double acc[BM_L];
            for (int ln = 0; ln < BM_L; ++ln) acc[ln] = 0.0;
#pragma GCC unroll 8
            for (int j = 0; j < st; ++j)
                for (int ln = 0; ln < BM_L; ++ln) acc[ln] += RC[st][j] * w->K[j][i * BM_L + ln];
            for (int ln = 0; ln < BM_L; ++ln) w->K[st][i * BM_L + ln] = w->fs[i * BM_L + ln] + w->ih[ln] * acc[ln];
        }
        BM_SOLVE_V(w->K[st]);
    }
#undef BM_SOLVE_V
    if (bm_ra_continues(BM_S)) {
        for (int i = 0; i < BM_N * BM_L; ++i) w->ys[i] += w->K[BM_S - 1][i];
    } else {
        for (int i = 0; i < BM_N; ++i) {
            double acc[BM_L];
            for (int ln = 0; ln < BM_L; ++ln) acc[ln] = w->y[i * BM_L + ln];
#pragma GCC unroll 8
            for (int j = 0; j < BM_S; ++j)
                for (int ln = 0; ln < BM_L; ++ln) acc[ln] += RA[BM_S][j] * w->K[j][i * BM_L + ln];
            for (int ln = 0; ln < BM_L; ++ln) w->ys[i * BM_L + ln] = acc[ln];
        }
    }
    /* bm_norm2(K[S-1], y, ys) of every lane, its terms summed in the scalar order, and whether the new
     * state is finite: bm_lane_end reads these instead of gathering y, ys and K[S-1] lane by lane */
    {
        double s[BM_L];
        int fin[BM_L];
        for (int ln = 0; ln < BM_L; ++ln) { s[ln] = 0.0; fin[ln] = 1; }
        for (int i = 0; i < BM_N; ++i)
            for (int ln = 0; ln < BM_L; ++ln) {
                double a = fabs(w->y[i * BM_L + ln]), b = fabs(w->ys[i * BM_L + ln]);
                double sk = w->atol[i] + w->rtol[ln] * (a > b ? a : b);
                double q = w->K[BM_S - 1][i * BM_L + ln] / sk;
                s[ln] += q * q;
                fin[ln] &= isfinite(w->ys[i * BM_L + ln]) != 0;
            }
        for (int ln = 0; ln < BM_L; ++ln) { w->err2[ln] = s[ln] / BM_N; w->finite[ln] = fin[ln]; }
    }
}

#if BM_NE > 0
/* Whether some trigger atom changes its truth over the step ending at (tend, ys), as bm_ev_locate finds
 * first; when none does, the triggers' values at the step's end are kept (as bm_ev_locate does) and the
 * step's stages need not be gathered. */
static int bm_ev_crosses(double tend, const double *ys, const double *p, bm_ctx *c) {
    double g1[BM_NG];
    bm_ev_g(tend, ys, p, g1);
    for (int k = 0; k < BM_NG; ++k)
        if (bm_ev_atom(c->eg[k], BM_EV_OP[k]) != bm_ev_atom(g1[k], BM_EV_OP[k])) return 1;
    memcpy(c->eg, g1, sizeof g1);
    return 0;
}
#endif

/* bm_curv2 on lane ln's f0 and packed Jacobian of this step (w->J holds BM_NJ packed entries per lane,
 * not BM_N * BM_N: gathering a dense count read far past the workspace). y: the lane's state. */
static double bm_lane_curv2(bm_lane *L, int ln, const bm_lane_work *w, const double *y) {
    double f0[BM_N], J[BM_NJ];
    bm_lane_gather(w->f0, ln, f0, BM_N);
    bm_lane_gather(w->J, ln, J, BM_NJ);
    return bm_curv2(J, f0, y, &L->c);
}

/* Accept or reject a lane's step (the end of bm_segment's loop). Returns 0, or 2: scalar solver needed. */
static int bm_lane_end(bm_lane *L, int ln, bm_lane_work *w, const bm_problem *pr) {
    double y[BM_N], ys[BM_N], K[BM_S][BM_N];
    int have_y = 0, have_k = 0; /* y and the stages, gathered from the lanes only where they are read */
#define BM_LANE_Y() do { if (!have_y) { bm_lane_gather(w->y, ln, y, BM_N); have_y = 1; } } while (0)
#define BM_LANE_K() do { if (!have_k) { for (int j = 0; j < BM_S; ++j) bm_lane_gather(w->K[j], ln, K[j], BM_N); \
                                        have_k = 1; } } while (0)
    if (w->bad[ln]) return 2;
    L->c.stats[0]++;
    L->c.stats[3] += BM_S - 1;
    double err2 = w->err2[ln];
    if (!(isfinite(err2) && w->finite[ln])) return 2;
    double hh = L->hh;
    double r = bm_err_recip(err2);
    double hnew = bm_propose(hh, err2, r, L->hacc, L->erracc);
    if (err2 <= 1.0) {
        L->hacc = hh;
        L->erracc = err2 > 1e-4 ? 1.0 / r : ERRACC_FLOOR;
        L->naccept++;
        L->c.stats[1]++;
        double tnew = L->last ? L->tstop : L->t + hh;
        bm_lane_gather(w->ys, ln, ys, BM_N);
#if BM_NE > 0
        if (bm_ev_crosses(tnew, ys, L->p, &L->c)) { /* state events: bm_segment's check, on this lane's numbers */
            double yev[BM_N];
            BM_LANE_Y();
            BM_LANE_K();
            double th = bm_ev_locate(&K[0][0], BM_N, y, ys, L->p, L->t, hh, tnew, &L->c, yev);
            if (th <= 1.0) {
                if (th < 1.0) tnew = L->t + th * hh;
                L->c.curv_pre = bm_lane_curv2(L, ln, w, y);
                if (L->iout < pr->nout && pr->tout[L->iout] < tnew)
                    bm_dense_outputs(&K[0][0], BM_N, y, ys, L->p, L->t, tnew, w->ih[ln], 1, pr->tout, pr->nout,
                                     &L->iout, L->yout, L->oout);
                for (int i = 0; i < BM_N; ++i) w->y[i * BM_L + ln] = yev[i];
                L->t = tnew;
                L->have_f0 = 0;
                if (L->reject && hnew > hh) hnew = hh;
                L->reject = 0;
                L->h = hnew;
                L->in_seg = 0; /* bm_lane_begin executes the events at tnew */
                return 0;
            }
        }
#endif
        /* as the scalar solver: the curvature at the start of the step that ends at tstop */
        if (L->last) L->c.curv_pre = w->curv[ln]; /* computed for every lane when one is last */
        if (L->iout < pr->nout && pr->tout[L->iout] <= tnew) {
            BM_LANE_Y();
            BM_LANE_K();
            bm_dense_outputs(&K[0][0], BM_N, y, ys, L->p, L->t, tnew, w->ih[ln], L->last, pr->tout,
                             pr->nout, &L->iout, L->yout, L->oout);
        }
        for (int i = 0; i < BM_N; ++i) w->y[i * BM_L + ln] = ys[i];
        L->t = tnew;
        L->have_f0 = 0;
        if (L->reject && hnew > hh) hnew = hh;
        L->reject = 0;
        if (L->last && hh < L->h_try && hnew < L->h_try) hnew = L->h_try;
        L->h = hnew;
    } else {
        L->reject = 1;
        L->c.stats[2]++;
        if (L->naccept == 0) hnew = hh * 0.1;
        else if (L->hacc == 0.0) {
            double f0[BM_N];
            BM_LANE_Y();
            bm_lane_gather(w->f0, ln, f0, BM_N);
            hnew = bm_restart_step(hnew, &L->reject, y, L->p, L->u, f0, L->tstop - L->t, &L->c);
        }
        L->h = hnew;
        if (bm_below_hmin(L->h, L->t)) return 2;
    }
    return 0;
#undef BM_LANE_Y
#undef BM_LANE_K
}

/* Solve the lane's member from the start with the scalar solver, which reproduces its exact outcome
 * (used when it leaves the lanes' common path); frees the lane. Returns 1 if the member failed. */
static int bm_lane_rerun(bm_lane *L, const double *Y0, const double *P, const bm_problem *pr, long *stats,
                         int *status, double *fail_t, int *fail_state) {
    int k = L->k;
    bm_ctx c = L->c;
    c.stats = stats + (long)k * BM_NSTATS;
    int rc = bm_solve_one(Y0 + (long)k * BM_N, P + (long)k * BM_NPTOT, pr->t0, pr->tout, pr->nout, pr->ev_t,
                          pr->ev_kind, pr->ev_idx, pr->ev_val, pr->nev, &c, L->yout, L->oout);
    status[k] = rc; fail_t[k] = c.fail_t; fail_state[k] = c.fail_state;
    L->k = -1;
    return rc != BM_OK;
}

/* Same contract as bm_solve_batch's loop over members, in lanes. */
static int bm_solve_lanes(int nsets, const double *Y0, const double *P, double t0, const double *tout, int nout,
                          const double *ev_t, const int *ev_kind, const int *ev_idx, const double *ev_val, int nev,
                          const double *opts, const double *atol, double *yout, double *oout, long *stats,
                          int *status, double *fail_t, int *fail_state) {
    /* calloc: the structural zeros of the inverse X stay zero (bm_inv_fast_v writes the nonzeros only) */
    bm_lane_work *w = (bm_lane_work *)calloc(1, sizeof(bm_lane_work));
    bm_lane lanes[BM_L];
    if (!w) return -1;
    bm_problem pr = {tout, ev_t, ev_val, ev_kind, ev_idx, nout, nev, t0};
    int next = 0, active = 0, nfail = 0;
    for (int ln = 0; ln < BM_L; ++ln) lanes[ln].k = -1;
    for (;;) {
        /* every lane: its next step attempt, or a new member when it has none */
        for (int ln = 0; ln < BM_L; ++ln) {
            bm_lane *L = &lanes[ln];
            for (;;) {
                if (L->k < 0) {
                    if (next >= nsets) break;
                    bm_lane_start(L, ln, w, next++, Y0, P, &pr, opts, atol, yout, oout, stats);
                    active++;
                }
                int rc = bm_lane_begin(L, ln, w, &pr);
                if (rc == 0) break;
                if (rc == 2) {
                    nfail += bm_lane_rerun(L, Y0, P, &pr, stats, status, fail_t, fail_state);
                } else {
                    status[L->k] = BM_OK; fail_t[L->k] = L->c.fail_t; fail_state[L->k] = L->c.fail_state;
                    L->k = -1;
                }
                active--;
            }
        }
        if (active == 0) break;
        /* idle lanes copy a busy one, so that they compute harmless numbers */
        int busy = 0;
        while (lanes[busy].k < 0) busy++;
        for (int ln = 0; ln < BM_L; ++ln) {
            if (lanes[ln].k >= 0) continue;
            for (int i = 0; i < BM_N; ++i) w->y[i * BM_L + ln] = w->y[i * BM_L + busy];
            for (int j = 0; j < BM_NPX; ++j) w->pl[j * BM_L + ln] = w->pl[j * BM_L + busy];
            w->rtol[ln] = w->rtol[busy];
        }
        bm_lane_fj(w, lanes);
        int need_curv = 0;
        for (int ln = 0; ln < BM_L; ++ln)
            if (lanes[ln].k >= 0 && (lanes[ln].pending || lanes[ln].last)) need_curv = 1;
        if (need_curv) bm_lane_curv(w);
        for (int ln = 0; ln < BM_L; ++ln)
            if (lanes[ln].k >= 0 && lanes[ln].pending) bm_lane_decide(&lanes[ln], ln, w);
        for (int ln = 0; ln < BM_L; ++ln) {
            if (lanes[ln].k >= 0) continue;
            w->fac[ln] = w->fac[busy]; w->tol[ln] = w->tol[busy]; w->ih[ln] = w->ih[busy];
        }
        bm_lane_stages(w, lanes);
        /* members that left the common path are re-solved by the scalar solver now */
        for (int ln = 0; ln < BM_L; ++ln) {
            bm_lane *L = &lanes[ln];
            if (L->k < 0 || bm_lane_end(L, ln, w, &pr) == 0) continue;
            nfail += bm_lane_rerun(L, Y0, P, &pr, stats, status, fail_t, fail_state);
            active--;
        }
    }
    free(w);
    return nfail;
}
