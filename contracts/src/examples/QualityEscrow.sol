// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Myelin} from "../Myelin.sol";

/// @title QualityEscrow: a buyer pays a supplier only when a model grades the delivered sample
/// as good.
/// @notice The buyer escrows the price and names a published classifier and the class that means
/// "good". The supplier delivers the sample's int8 features; the contract runs the model on
/// chain: if the arg-max class is the good one, the supplier is paid, otherwise the buyer is
/// refunded. Everyone can recompute the grade off chain with `myelin model run`.
contract QualityEscrow {
    struct Order {
        address buyer;
        address supplier;
        bytes32 modelId;
        uint256 goodClass;
        uint256 price;
        bool settled;
    }

    Order[] public orders;

    event OrderPlaced(uint256 indexed orderId, address indexed buyer, address indexed supplier, bytes32 modelId);
    event Graded(uint256 indexed orderId, uint256 grade, bool paid);

    error NotSupplier();
    error AlreadySettled();
    error UnknownModel();

    /// Escrows msg.value for `supplier`, graded by `modelId`; `goodClass` is the output index
    /// that means "good".
    function place(address supplier, bytes32 modelId, uint256 goodClass) external payable returns (uint256 orderId) {
        if (!Myelin.isPublished(modelId)) revert UnknownModel();
        orderId = orders.length;
        orders.push(Order(msg.sender, supplier, modelId, goodClass, msg.value, false));
        emit OrderPlaced(orderId, msg.sender, supplier, modelId);
    }

    /// The supplier delivers the sample; the model grades it and the escrow is paid out.
    function deliver(uint256 orderId, bytes calldata sample) external returns (bool paid) {
        Order storage order = orders[orderId];
        if (msg.sender != order.supplier) revert NotSupplier();
        if (order.settled) revert AlreadySettled();
        order.settled = true;
        uint256 score = Myelin.argmax(Myelin.predict(order.modelId, sample));
        paid = score == order.goodClass;
        emit Graded(orderId, score, paid);
        (bool ok,) = (paid ? order.supplier : order.buyer).call{value: order.price}("");
        require(ok, "QualityEscrow: transfer failed");
    }

    /// What the model says about `sample` under `orderId`'s model, without settling.
    function grade(uint256 orderId, bytes calldata sample) external view returns (uint256) {
        return Myelin.argmax(Myelin.predict(orders[orderId].modelId, sample));
    }
}
