import { sql, type Kysely } from 'kysely';

/**
 * Distribution functions the quality marts test with (Postgres has none): the regularized
 * incomplete gamma and beta functions (Numerical Recipes, 3rd ed., 6.2 and 6.4: series and
 * Lentz continued fractions, relative accuracy ~1e-14), and from them the normal, chi-square and
 * Student t tail probabilities; the Kolmogorov distribution's tail (the asymptotic series).
 * Checked against published values in test/statistics.test.ts.
 */
export async function up(db: Kysely<any>): Promise<void> {
    // exp() of Postgres raises on underflow: a tail probability below 1e-300 is 0.
    await sql`
        create function tokenmart.exp0(x double precision) returns double precision language sql immutable parallel safe as $$
            select case when x < -700 then 0::double precision else exp(x) end
        $$`.execute(db);
    // ln Γ(x), Lanczos (g = 7, 9 terms), with the reflection formula below 1/2.
    await sql`
        create function tokenmart.ln_gamma(x double precision) returns double precision language plpgsql immutable parallel safe as $$
        declare
            c constant double precision[] := array[0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
            a double precision;
            t double precision;
        begin
            if x < 0.5 then
                return ln(pi() / abs(sin(pi() * x))) - tokenmart.ln_gamma(1 - x);
            end if;
            x := x - 1;
            a := c[1];
            for i in 1..8 loop
                a := a + c[i + 1] / (x + i);
            end loop;
            t := x + 7.5;
            return 0.5 * ln(2 * pi()) + (x + 0.5) * ln(t) - t + ln(a);
        end $$`.execute(db);
    // Q(a, x) = Γ(a, x) / Γ(a), the upper regularized incomplete gamma function.
    await sql`
        create function tokenmart.gamma_q(a double precision, x double precision) returns double precision language plpgsql immutable parallel safe as $$
        declare
            tiny constant double precision := 1e-300;
            front double precision;
            ap double precision := a;
            total double precision;
            del double precision;
            b double precision;
            c double precision;
            d double precision;
            h double precision;
            an double precision;
        begin
            if x <= 0 then
                return 1;
            end if;
            front := tokenmart.exp0(-x + a * ln(x) - tokenmart.ln_gamma(a));
            if x < a + 1 then
                total := 1 / a;
                del := total;
                for n in 1..10000 loop
                    ap := ap + 1;
                    del := del * x / ap;
                    total := total + del;
                    exit when abs(del) < abs(total) * 1e-16;
                end loop;
                return greatest(0, 1 - total * front);
            end if;
            b := x + 1 - a;
            c := 1 / tiny;
            d := 1 / b;
            h := d;
            for n in 1..10000 loop
                an := -n * (n - a);
                b := b + 2;
                d := an * d + b;
                if abs(d) < tiny then d := tiny; end if;
                c := b + an / c;
                if abs(c) < tiny then c := tiny; end if;
                d := 1 / d;
                del := d * c;
                h := h * del;
                exit when abs(del - 1) < 1e-16;
            end loop;
            return front * h;
        end $$`.execute(db);
    // The continued fraction of the incomplete beta function (modified Lentz).
    await sql`
        create function tokenmart.beta_cf(a double precision, b double precision, x double precision) returns double precision
        language plpgsql immutable parallel safe as $$
        declare
            tiny constant double precision := 1e-300;
            c double precision := 1;
            d double precision := 1 - (a + b) * x / (a + 1);
            h double precision;
            aa double precision;
            del double precision;
        begin
            if abs(d) < tiny then d := tiny; end if;
            d := 1 / d;
            h := d;
            for m in 1..10000 loop
                aa := m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m));
                d := 1 + aa * d;
                if abs(d) < tiny then d := tiny; end if;
                c := 1 + aa / c;
                if abs(c) < tiny then c := tiny; end if;
                d := 1 / d;
                h := h * d * c;
                aa := -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m));
                d := 1 + aa * d;
                if abs(d) < tiny then d := tiny; end if;
                c := 1 + aa / c;
                if abs(c) < tiny then c := tiny; end if;
                d := 1 / d;
                del := d * c;
                h := h * del;
                exit when abs(del - 1) < 1e-16;
            end loop;
            return h;
        end $$`.execute(db);
    // I_x(a, b), the regularized incomplete beta function.
    await sql`
        create function tokenmart.beta_inc(a double precision, b double precision, x double precision) returns double precision
        language plpgsql immutable parallel safe as $$
        declare
            front double precision;
        begin
            if x <= 0 then return 0; end if;
            if x >= 1 then return 1; end if;
            front := tokenmart.exp0(tokenmart.ln_gamma(a + b) - tokenmart.ln_gamma(a) - tokenmart.ln_gamma(b) + a * ln(x) + b * ln(1 - x));
            if x < (a + 1) / (a + b + 2) then
                return front * tokenmart.beta_cf(a, b, x) / a;
            end if;
            return 1 - front * tokenmart.beta_cf(b, a, 1 - x) / b;
        end $$`.execute(db);
    // Tail probabilities. P(|Z| >= |z|) = Q(1/2, z²/2); P(χ²_k >= x) = Q(k/2, x/2);
    // P(|T_df| >= |t|) = I_{df/(df+t²)}(df/2, 1/2).
    await sql`
        create function tokenmart.normal_cdf(z double precision) returns double precision language sql immutable parallel safe as $$
            select case when z >= 0 then 1 - tokenmart.gamma_q(0.5, z * z / 2) / 2 else tokenmart.gamma_q(0.5, z * z / 2) / 2 end
        $$`.execute(db);
    await sql`
        create function tokenmart.normal_p_two_sided(z double precision) returns double precision language sql immutable parallel safe as $$
            select tokenmart.gamma_q(0.5, z * z / 2)
        $$`.execute(db);
    await sql`
        create function tokenmart.chi2_sf(x double precision, df double precision) returns double precision language sql immutable parallel safe as $$
            select tokenmart.gamma_q(df / 2, x / 2)
        $$`.execute(db);
    await sql`
        create function tokenmart.t_p_two_sided(t double precision, df double precision) returns double precision language sql immutable parallel safe as $$
            select tokenmart.beta_inc(df / 2, 0.5, df / (df + t * t))
        $$`.execute(db);
    // The t with P(|T_df| >= t) = p, by bisection (60 halvings of [0, 1e4]: far below 1e-9).
    await sql`
        create function tokenmart.t_critical(p double precision, df double precision) returns double precision language plpgsql immutable parallel safe as $$
        declare
            lo double precision := 0;
            hi double precision := 1e4;
            mid double precision;
        begin
            for i in 1..80 loop
                mid := (lo + hi) / 2;
                if tokenmart.t_p_two_sided(mid, df) > p then lo := mid; else hi := mid; end if;
            end loop;
            return (lo + hi) / 2;
        end $$`.execute(db);
    // P(K > λ) for the Kolmogorov distribution: 2 Σ (-1)^(k-1) exp(-2 k² λ²). The series needs no
    // more than a few terms above λ = 0.3; below it the probability is 1 to 9 digits.
    await sql`
        create function tokenmart.kolmogorov_sf(lambda double precision) returns double precision language plpgsql immutable parallel safe as $$
        declare
            total double precision := 0;
            term double precision;
        begin
            if lambda < 0.3 then return 1; end if;
            for k in 1..100 loop
                term := 2 * (case when k % 2 = 1 then 1 else -1 end) * tokenmart.exp0(-2 * k * k * lambda * lambda);
                total := total + term;
                exit when abs(term) < 1e-16;
            end loop;
            return least(1, greatest(0, total));
        end $$`.execute(db);
    // The two-sample KS p-value: the asymptotic distribution at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D,
    // nₑ = n·m/(n+m) (Stephens 1970's small-sample correction, as in Numerical Recipes 14.3).
    await sql`
        create function tokenmart.ks_p_two_sample(d double precision, n double precision, m double precision) returns double precision
        language sql immutable parallel safe as $$
            select tokenmart.kolmogorov_sf((sqrt(n * m / (n + m)) + 0.12 + 0.11 / sqrt(n * m / (n + m))) * d)
        $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    for (const f of [
        'ks_p_two_sample(double precision, double precision, double precision)',
        'kolmogorov_sf(double precision)',
        't_critical(double precision, double precision)',
        't_p_two_sided(double precision, double precision)',
        'chi2_sf(double precision, double precision)',
        'normal_p_two_sided(double precision)',
        'normal_cdf(double precision)',
        'beta_inc(double precision, double precision, double precision)',
        'beta_cf(double precision, double precision, double precision)',
        'gamma_q(double precision, double precision)',
        'ln_gamma(double precision)',
        'exp0(double precision)',
    ]) {
        await sql.raw(`drop function if exists tokenmart.${f}`).execute(db);
    }
}
