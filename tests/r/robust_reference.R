# Pinned clubSandwich output for evidence.robust (tests/reference/clubsandwich.json).
#
# Usage: Rscript --vanilla tests/r/robust_reference.R [OUTPUT.json]
#
# Every case stores the pieces of the metafor fit that the cluster-robust
# variance is built from -- the model matrix X, the outcomes y, the cluster of
# every row and the model's marginal covariance (rma.uni: vi + tau2; rma.mv: the
# blocks of M, one per cluster) -- so that the array kernels of evidence.robust
# can be checked on them directly, then clubSandwich's numbers: vcovCR (CR0,
# CR1, CR1p, CR1S, CR2; default target = the model's working V), coef_test (z,
# naive-t, naive-tp, Satterthwaite), conf_int (Satterthwaite, level 0.95) and
# Wald_test (chi-sq, Naive-F, Naive-Fp, HTZ).  metafor runs with tight
# convergence settings so that the single-level fits can also be compared with
# evidence.meta_regression.  Runs in a few seconds.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(clubSandwich)
  library(robumeta)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/reference/clubsandwich.json"

CTL_UNI <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
CTL_UNI_TXT <- "control=list(threshold=1e-12, maxiter=10000, tol=1e-12)"
CTL_MV <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)
CTL_MV_TXT <- "control=list(rel.tol=1e-10, iter.max=10000, eval.max=10000)"
TYPES <- c("CR0", "CR1", "CR1p", "CR1S", "CR2")

num <- function(x) as.numeric(x)

# ---------------------------------------------------------------- data sets
set.seed(20260101)
n_cl <- 16
sizes <- c(1, 1, 1, 2, 7, 3, 1, 5, 2, 4, 1, 9, 2, 3, 6, 1)
cl <- rep(seq_len(n_cl), sizes)
k <- length(cl)
x1 <- round(rnorm(k), 3)
x2 <- rep(rbinom(n_cl, 1, 0.5), sizes)
vi_sim <- round(runif(k, 0.01, 0.2), 4)
u <- rnorm(n_cl, 0, 0.3)[cl]
yi_sim <- round(0.2 + 0.1 * x1 - 0.2 * x2 + u + rnorm(k, 0, 0.15) + rnorm(k, 0, sqrt(vi_sim)), 4)
sim <- data.frame(cluster = cl, esid = unlist(lapply(sizes, seq_len)), yi = yi_sim, vi = vi_sim, x1 = x1, x2 = x2)
# a known within-cluster sampling covariance: correlation 0.6 between effects of a cluster
V_sim <- bldiag(lapply(split(sim$vi, sim$cluster), function(v) {
  S <- 0.6 * tcrossprod(sqrt(v)); diag(S) <- v; S
}))

datasets <- list(
  assink2016 = list(data = dat.assink2016, call = "dat.assink2016 (metadat)"),
  konstantopoulos2011 = list(data = dat.konstantopoulos2011, call = "dat.konstantopoulos2011 (metadat)"),
  corrdat = list(data = transform(corrdat, yi = effectsize, vi = var), call = "corrdat (robumeta 2.0), yi = effectsize, vi = var"),
  hierdat = list(data = transform(hierdat, yi = effectsize, vi = var), call = "hierdat (robumeta 2.0), yi = effectsize, vi = var"),
  simulated = list(data = sim, call = paste(
    "set.seed(20260101); 16 clusters of sizes 1,1,1,2,7,3,1,5,2,4,1,9,2,3,6,1;",
    "x1 ~ N(0,1) (3 dp), x2 cluster-level Bernoulli(0.5), vi ~ U(0.01, 0.2) (4 dp),",
    "yi = 0.2 + 0.1 x1 - 0.2 x2 + N(0, 0.3^2) per cluster + N(0, 0.15^2) + N(0, vi) (4 dp)"))
)

specs <- list(
  list(data = "assink2016", model = "rma.mv", mods = "~ deltype", random = "~ 1 | study/esid", cluster = "study"),
  list(data = "assink2016", model = "rma.mv", mods = "~ 1", random = "~ 1 | study/esid", cluster = "study"),
  list(data = "assink2016", model = "rma.uni", mods = "~ deltype + year", cluster = "study"),
  list(data = "konstantopoulos2011", model = "rma.mv", mods = "~ I(year - 1990)", random = "~ 1 | district/school", cluster = "district"),
  list(data = "konstantopoulos2011", model = "rma.uni", mods = "~ 1", cluster = "district"),
  list(data = "corrdat", model = "rma.mv", mods = "~ males + college + binge", random = "~ 1 | studyid/esid", cluster = "studyid"),
  list(data = "corrdat", model = "rma.uni", mods = "~ males + college + binge", cluster = "studyid"),
  list(data = "hierdat", model = "rma.uni", mods = "~ binge + followup", cluster = "studyid"),
  list(data = "hierdat", model = "rma.uni", mods = "~ binge + followup", cluster = "studyid", method = "FE"),
  list(data = "simulated", model = "rma.mv", mods = "~ x1 + x2", random = "~ 1 | cluster/esid", cluster = "cluster"),
  list(data = "simulated", model = "rma.mv", mods = "~ x1 + x2", random = "~ 1 | cluster", cluster = "cluster", V = "V_sim"),
  list(data = "simulated", model = "rma.uni", mods = "~ x1 + x2", cluster = "cluster", method = "DL")
)

blocks_of <- function(M, cluster) {
  lev <- levels(cluster)
  lapply(lev, function(l) {
    rows <- which(cluster == l)
    list(cluster = l, rows = I(rows - 1L), block = unname(as.matrix(M[rows, rows, drop = FALSE])))
  })
}

one_case <- function(s) {
  dat <- datasets[[s$data]]$data
  method <- if (is.null(s$method)) "REML" else s$method
  if (s$model == "rma.mv") {
    V <- if (is.null(s$V)) dat$vi else get(s$V)
    fit <- rma.mv(yi, V, mods = as.formula(s$mods), random = as.formula(s$random), data = dat,
                  method = method, control = CTL_MV)
    call <- sprintf("rma.mv(yi, %s, mods=%s, random=%s, data=%s, method='%s', %s)",
                    if (is.null(s$V)) "vi" else s$V, s$mods, s$random, s$data, method, CTL_MV_TXT)
  } else {
    fit <- rma(yi, vi, mods = as.formula(s$mods), data = dat, method = method, control = CTL_UNI)
    call <- sprintf("rma(yi, vi, mods=%s, data=%s, method='%s', %s)", s$mods, s$data, method, CTL_UNI_TXT)
  }
  cluster <- factor(dat[[s$cluster]])
  p <- length(fit$beta)
  out <- list(
    data = s$data, model = s$model, method = method, mods = s$mods,
    random = if (is.null(s$random)) NULL else s$random, cluster_column = s$cluster, call = call,
    X = unname(fit$X), colnames = I(colnames(fit$X)), y = num(fit$yi), vi = num(fit$vi),
    cluster = as.character(dat[[s$cluster]]), beta = num(fit$beta),
    tau2 = num(fit$tau2), sigma2 = if (s$model == "rma.mv") num(fit$sigma2) else NULL
  )
  M <- if (s$model == "rma.mv") fit$M else diag(fit$vi + fit$tau2, nrow = length(fit$vi))
  out$V_blocks <- blocks_of(M, cluster)
  constraints <- if (p >= 3) 2:p else if (p == 2) 1:2 else 1L
  out$wald_constraint <- I(constraints)
  res <- list()
  for (tp in TYPES) {
    vc <- vcovCR(fit, cluster = cluster, type = tp)
    ct <- coef_test(fit, vcov = vc, test = c("z", "naive-t", "naive-tp", "Satterthwaite"))
    ci <- conf_int(fit, vcov = vc, level = 0.95, test = "Satterthwaite")
    wt <- Wald_test(fit, constraints = constrain_zero(constraints), vcov = vc,
                    test = c("chi-sq", "Naive-F", "Naive-Fp", "HTZ"))
    res[[tp]] <- list(
      vcov = unname(as.matrix(vc)),
      call = sprintf(paste0("vc <- vcovCR(fit, cluster=%s, type='%s'); coef_test(fit, vcov=vc, test=c('z','naive-t','naive-tp','Satterthwaite'));",
                            " conf_int(fit, vcov=vc, level=0.95, test='Satterthwaite');",
                            " Wald_test(fit, constraints=constrain_zero(c(%s)), vcov=vc, test=c('chi-sq','Naive-F','Naive-Fp','HTZ'))"),
                     s$cluster, tp, paste(constraints, collapse = ",")),
      coef_test = list(beta = num(ct$beta), SE = num(ct$SE), tstat = num(ct$tstat),
                       p_z = num(ct$p_z), df_t = num(ct$df_t), p_t = num(ct$p_t),
                       df_tp = num(ct$df_tp), p_tp = num(ct$p_tp),
                       df_Satt = num(ct$df_Satt), p_Satt = num(ct$p_Satt)),
      conf_int = list(df = num(ci$df), CI_L = num(ci$CI_L), CI_U = num(ci$CI_U)),
      Wald_test = lapply(split(as.data.frame(wt), seq_len(nrow(wt))), function(r) list(
        test = as.character(r$test), Fstat = num(r$Fstat), delta = num(r$delta),
        df_num = num(r$df_num), df_denom = num(r$df_denom), p_val = num(r$p_val)))
    )
    names(res[[tp]]$Wald_test) <- NULL
  }
  out$results <- res
  out
}

cases <- lapply(specs, one_case)

out <- list(
  provenance = list(
    script = "tests/r/robust_reference.R",
    R_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    clubSandwich_version = as.character(packageVersion("clubSandwich")),
    robumeta_version = as.character(packageVersion("robumeta")),
    control_rma_uni = CTL_UNI_TXT,
    control_rma_mv = CTL_MV_TXT,
    types = TYPES
  ),
  data = lapply(datasets, function(d) d$call),
  cases = cases
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", matrix = "rowmajor"), out_path)
