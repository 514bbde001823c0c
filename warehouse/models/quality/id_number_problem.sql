-- SPEC §5 INVALID_ID_NUMBER: NULL when the number is valid for month p, else the first failing test:
-- 'format' (not 17 digits and a digit or X), 'check_digit' (GB 11643: ISO 7064 MOD 11-2), 'birth_date'
-- (digits 7-14 no calendar date, before 1900, or after p), 'too_young' (born less than 16 years before the
-- first day of p: no one under 16 may be employed), 'province' (the first two digits no province-level
-- code). A foreign permanent resident's number (2023 format) starts with 9 followed by the province-level
-- code of the issuing place, with the same birth date and check digit: its code is digits 2-3.
CREATE OR REPLACE MACRO quality.id_number_problem(id, p) AS
CASE
    WHEN id IS NULL OR NOT regexp_full_match(id, '[0-9]{17}[0-9X]') THEN 'format'
    WHEN substr('10X98765432', 1 + ((
          7 * CAST(substr(id, 1, 1) AS INTEGER) + 9 * CAST(substr(id, 2, 1) AS INTEGER)
        + 10 * CAST(substr(id, 3, 1) AS INTEGER) + 5 * CAST(substr(id, 4, 1) AS INTEGER)
        + 8 * CAST(substr(id, 5, 1) AS INTEGER) + 4 * CAST(substr(id, 6, 1) AS INTEGER)
        + 2 * CAST(substr(id, 7, 1) AS INTEGER) + 1 * CAST(substr(id, 8, 1) AS INTEGER)
        + 6 * CAST(substr(id, 9, 1) AS INTEGER) + 3 * CAST(substr(id, 10, 1) AS INTEGER)
        + 7 * CAST(substr(id, 11, 1) AS INTEGER) + 9 * CAST(substr(id, 12, 1) AS INTEGER)
        + 10 * CAST(substr(id, 13, 1) AS INTEGER) + 5 * CAST(substr(id, 14, 1) AS INTEGER)
        + 8 * CAST(substr(id, 15, 1) AS INTEGER) + 4 * CAST(substr(id, 16, 1) AS INTEGER)
        + 2 * CAST(substr(id, 17, 1) AS INTEGER)) % 11), 1) <> substr(id, 18, 1) THEN 'check_digit'
    WHEN try_strptime(substr(id, 7, 8), '%Y%m%d') IS NULL
        OR substr(id, 7, 4) < '1900'
        OR substr(id, 7, 6) > replace(p, '-', '') THEN 'birth_date'
    WHEN CAST(strptime(substr(id, 7, 8), '%Y%m%d') AS DATE)
        > CAST(CAST(p || '-01' AS DATE) - INTERVAL 16 YEAR AS DATE) THEN 'too_young'
    WHEN (CASE WHEN substr(id, 1, 1) = '9' THEN substr(id, 2, 2) ELSE substr(id, 1, 2) END) NOT IN (
        '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
        '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
        '71', '81', '82', '83') THEN 'province'
END;
