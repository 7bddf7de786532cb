// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

// Contracts that behave one way when simulated and another when mined, for the "what executes is what was
// checked" tests (DESIGN §11, ADVERSARIAL 46-48). The gateway's simulation must not give them a tell, and what
// they move beyond what was checked must be caught on the receipt.

interface IERC20Pull {
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @notice Pulls `amount` of a token from the caller, or 100x as much when it believes it is not simulated. Each
/// `tell` is one way a naive simulator gave itself away (see the tests); `ARMED` pulls 100x when an outside switch
/// is set, which no simulation can foresee.
contract TellingPuller {
    uint8 public constant NONE = 0;
    uint8 public constant READER_FUNDED = 1;
    uint8 public constant GAS_LIMIT = 2;
    uint8 public constant GAS_PRICE = 3;
    uint8 public constant COINBASE = 4;
    uint8 public constant READ_IN_BLOCK = 5;
    uint8 public constant ARMED = 6;

    // What earlier simulators used: a funded balance reader, a made-up fee recipient.
    address constant OLD_READER = 0x5E1A7ed0C0FfeE00000000000000000000A1f10C;
    address constant OLD_FEE_RECIPIENT = 0x7A3e5a1D9C2b8f4E6017d3C5b9A8e2F1c4d6B0e9;

    bool public armed;
    /// Block in which someone last asked this contract for a balance (a simulator's reads).
    uint256 public lastRead;

    function arm(bool on) external {
        armed = on;
    }

    /// Looks like a token's balanceOf to a simulator that reads balances of the contracts a call touches.
    function balanceOf(address) external returns (uint256) {
        lastRead = block.number;
        return 0;
    }

    function simulated(uint8 tell, uint256 gasAtStart) public view returns (bool) {
        if (tell == READER_FUNDED) return OLD_READER.balance > 0;
        if (tell == GAS_LIMIT) return gasAtStart > 1_000_000;
        if (tell == GAS_PRICE) return tx.gasprice == block.basefee + block.basefee / 10;
        if (tell == COINBASE) return block.coinbase == OLD_FEE_RECIPIENT;
        if (tell == READ_IN_BLOCK) return lastRead == block.number;
        if (tell == ARMED) return !armed;
        return true;
    }

    function pull(address token, uint256 amount, uint8 tell) external {
        uint256 take = simulated(tell, gasleft()) ? amount : amount * 100;
        require(IERC20Pull(token).transferFrom(msg.sender, address(this), take), "pull failed");
    }
}

/// @notice An ERC-20 whose `balanceOf` reports no change for its owner's outflows: its Transfer logs are right,
/// its balances lie (ADVERSARIAL 48).
contract LyingBalanceToken {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    string public constant name = "Lying Balance";
    string public constant symbol = "LIE";
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    address public immutable holder;
    uint256 public immutable shown;
    mapping(address => uint256) internal balances;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(address holder_) {
        holder = holder_;
        shown = 1_000_000 * 10 ** 6;
        totalSupply = shown;
        balances[holder_] = shown;
        emit Transfer(address(0), holder_, shown);
    }

    function balanceOf(address owner) external view returns (uint256) {
        return owner == holder ? shown : balances[owner];
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balances[msg.sender] >= value, "balance too low");
        balances[msg.sender] -= value;
        balances[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}

/// @notice An ERC-20 without a decimals() function at all (ADVERSARIAL 49).
contract NoDecimalsToken {
    event Transfer(address indexed from, address indexed to, uint256 value);

    string public constant name = "No Decimals";
    string public constant symbol = "NODEC";
    mapping(address => uint256) public balanceOf;

    constructor(address holder) {
        balanceOf[holder] = 1_000_000 * 10 ** 18;
        emit Transfer(address(0), holder, 1_000_000 * 10 ** 18);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "balance too low");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }
}
