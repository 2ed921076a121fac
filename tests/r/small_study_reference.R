# Pinned metafor reference values for evidence.small_study (tests/test_small_study.py).
#
# Usage:  Rscript --vanilla tests/r/small_study_reference.R [OUTPUT_JSON]
# Default output: tests/reference/metafor_small_study.json
#
# Datasets (metadat): dat.bcg as log risk ratios and as log odds ratios
# (escalc with the default add=1/2, to="only0"), and dat.hackshaw1998 (log odds
# ratios as published).  For each dataset the script records
#   * regtest(yi, vi, model, predictor, method, test)  (Egger-type tests)
#   * ranktest(yi, vi, exact)                          (Begg & Mazumdar)
#   * trimfill(rma(yi, vi, method), side, estimator)   (Duval & Tweedie)
#   * rma(yi, vi, mods=~sqrt(vi) / ~vi, method="FE") and lm(yi ~ sqrt(vi) / vi,
#     weights=1/vi)                                    (PET / PEESE)
#   * the polygons funnel() draws (recorded from the graphics display list)
# with every iterative fit run to threshold 1e-12 (and uniroot tol 1e-12 for PM).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/reference/metafor_small_study.json"

# threshold: Fisher scoring (ML, REML, EB); tol: uniroot of PM (its default, eps^0.25, is loose)
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

bcg_rr <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_or <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets <- list(
  bcg_logrr = list(yi = as.numeric(bcg_rr$yi), vi = as.numeric(bcg_rr$vi),
                   call = 'escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)'),
  bcg_logor = list(yi = as.numeric(bcg_or$yi), vi = as.numeric(bcg_or$vi),
                   call = 'escalc("OR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)'),
  hackshaw1998 = list(yi = as.numeric(dat.hackshaw1998$yi), vi = as.numeric(dat.hackshaw1998$vi),
                      call = "dat.hackshaw1998[, c('yi', 'vi')]")
)

num <- function(x) if (is.null(x)) NA_real_ else unname(as.numeric(x))

regtest_cases <- list()
for (model in c("rma", "lm")) {
  for (predictor in c("sei", "vi")) {
    methods <- if (model == "rma") c("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM") else "FE"
    tests <- if (model == "rma") c("z", "knha") else "z"
    for (method in methods) for (test in tests) {
      regtest_cases[[length(regtest_cases) + 1]] <- list(model = model, predictor = predictor,
                                                          method = method, test = test)
    }
  }
}

pull_funnel <- function(res, ...) {
  pdf(NULL)
  dev.control("enable")
  pts <- funnel(res, ...)
  dl <- recordPlot()[[1]]
  dev.off()
  name <- function(e) e[[2]][[1]]$name
  win <- Filter(function(e) identical(name(e), "C_plot_window"), dl)[[1]][[2]]
  polys <- Filter(function(e) identical(name(e), "C_polygon"), dl)
  # every 111th point of the 1000-point grid: 1-based indices 1, 112, ..., 1000
  idx <- unique(c(seq(1, 1000, by = 111), 1000))
  list(
    xlim = num(win[[2]]), ylim = num(win[[3]]),
    x = num(pts$x), y = num(pts$y),
    grid_index = idx - 1,
    # polygons are drawn from the widest level to the narrowest
    polygons = lapply(polys, function(e) {
      px <- num(e[[2]][[2]]); py <- num(e[[2]][[3]])
      list(se = py[idx], left = px[idx], right = rev(px[1001:2000])[idx])
    })
  )
}

result <- list(
  provenance = list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    script = "tests/r/small_study_reference.R",
    control = ctrl
  ),
  datasets = list()
)

for (dname in names(datasets)) {
  d <- datasets[[dname]]
  yi <- d$yi; vi <- d$vi
  entry <- list(call = d$call, yi = yi, vi = vi)

  entry$regtest <- lapply(regtest_cases, function(cs) {
    # regtest() on vectors drops 'control'; on a model object it reuses the model's control
    base <- suppressWarnings(rma(yi, vi, method = cs$method, test = cs$test, control = ctrl))
    r <- suppressWarnings(regtest(base, model = cs$model, predictor = cs$predictor))
    fit <- r$fit
    list(
      call = sprintf('regtest(rma(yi, vi, method="%s", test="%s", control=ctrl), model="%s", predictor="%s")',
                     cs$method, cs$test, cs$model, cs$predictor),
      model = cs$model, predictor = cs$predictor, method = cs$method, test = cs$test,
      zval = num(r$zval), pval = num(r$pval), dfs = num(r$dfs),
      est = num(r$est), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
      tau2 = if (cs$model == "rma") num(fit$tau2) else NA_real_,
      slope = if (cs$model == "rma") num(fit$beta[2]) else num(coef(fit)[2])
    )
  })

  entry$ranktest <- lapply(c(TRUE, FALSE), function(ex) {
    r <- suppressWarnings(ranktest(yi, vi = vi, exact = ex))
    list(call = sprintf("ranktest(yi, vi, exact=%s)", ex), exact = ex,
         tau = num(r$tau), pval = num(r$pval))
  })

  tf <- list()
  for (method in c("FE", "DL", "REML", "PM")) {
    fit <- rma(yi, vi, method = method, control = ctrl)
    for (estimator in c("L0", "R0")) {
      for (side in c("auto", "left", "right")) {
        t <- if (side == "auto") trimfill(fit, estimator = estimator, control = ctrl)
             else trimfill(fit, estimator = estimator, side = side, control = ctrl)
        tf[[length(tf) + 1]] <- list(
          call = sprintf('trimfill(rma(yi, vi, method="%s", control=ctrl), estimator="%s"%s, control=ctrl)',
                         method, estimator, if (side == "auto") "" else sprintf(', side="%s"', side)),
          method = method, estimator = estimator, side_arg = side,
          side = t$side, k0 = num(t$k0), se_k0 = num(t$se.k0), p_k0 = num(t$p.k0),
          yi = num(t$yi), vi = num(t$vi), fill = as.logical(t$fill),
          beta = num(t$beta), se = num(t$se), ci_lb = num(t$ci.lb), ci_ub = num(t$ci.ub),
          pval = num(t$pval), tau2 = num(t$tau2)
        )
      }
    }
  }
  entry$trimfill <- tf

  pp <- list()
  for (pred in c("sei", "vi")) {
    x <- if (pred == "sei") sqrt(vi) else vi
    fe <- rma(yi, vi, mods = ~ x, method = "FE")
    l <- summary(lm(yi ~ x, weights = 1 / vi))
    pp[[pred]] <- list(
      call_fe = sprintf("rma(yi, vi, mods=~%s, method=\"FE\")", if (pred == "sei") "sqrt(vi)" else "vi"),
      call_lm = sprintf("summary(lm(yi ~ %s, weights=1/vi))", if (pred == "sei") "sqrt(vi)" else "vi"),
      fe_beta = num(fe$beta), fe_se = num(fe$se),
      lm_coef = num(coef(l)[, 1]), lm_se = num(coef(l)[, 2]),
      lm_t = num(coef(l)[, 3]), lm_p = num(coef(l)[, 4]), lm_df = num(l$df[2])
    )
  }
  entry$pet_peese <- pp

  fit <- rma(yi, vi, method = "REML", control = ctrl)
  entry$funnel <- list(
    pooled = num(fit$beta), tau2 = num(fit$tau2),
    contour = c(list(call = 'funnel(rma(yi, vi), level=c(90, 95, 99), shade=c("white", "gray55", "gray75"), refline=0)'),
                pull_funnel(fit, level = c(90, 95, 99), shade = c("white", "gray55", "gray75"), refline = 0)),
    standard = c(list(call = "funnel(rma(yi, vi))"), pull_funnel(fit))
  )
  result$datasets[[dname]] <- entry
}

# Small hand-made cases for ranktest: no ties (exact p) and ties in vi (normal approximation)
small <- list(
  list(yi = c(0.1, 0.3, 0.2, 0.6, 0.4), vi = c(0.01, 0.04, 0.09, 0.02, 0.16)),
  list(yi = c(0.1, 0.3, 0.2, 0.6, 0.4, 0.5), vi = c(0.01, 0.04, 0.04, 0.02, 0.16, 0.09))
)
result$ranktest_small <- lapply(small, function(s) {
  r <- suppressWarnings(ranktest(s$yi, vi = s$vi))
  list(call = "ranktest(yi, vi)", yi = s$yi, vi = s$vi, tau = num(r$tau), pval = num(r$pval))
})

writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), out)
cat("wrote", out, "\n")
